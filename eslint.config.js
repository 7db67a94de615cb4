// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Data flows one way through src/ (docs/style.md, src/README.md): each layer may import the
// ones below it, never one above. Leaves first; a folder may not import what is listed for it.
const ABOVE_STORE = ['ingest', 'delivery', 'api', 'http', 'cli', 'metrics', 'notify'];
const TOP = ['engine.ts', 'gateway.ts', 'library.ts', 'index.ts'];
const folder = (name) => `**/${name}/**`;
/** A top-level file of src/, as a sibling or a folder or two below imports it. */
const file = (name) => [`./${name}`, `../${name}`, `../../${name}`];
function layers() {
  const rule = (files, forbidden, why) => ({
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: forbidden, message: why }] }],
    },
  });
  return [
    rule(
      ['src/verify/**'],
      ['../**'],
      'hookyard/verify is zero-dependency: nothing from the rest of src/',
    ),
    rule(
      [
        'src/errors.ts',
        'src/ids.ts',
        'src/json-path.ts',
        'src/ssrf.ts',
        'src/runtime.ts',
        'src/tracing.ts',
      ],
      ['./**', '../**'],
      'a leaf module imports nothing from src/',
    ),
    rule(
      ['src/config.ts', 'src/config/**'],
      [...ABOVE_STORE.map(folder), folder('store'), ...TOP.flatMap(file), ...file('lifecycle.ts')],
      'config is below every layer that reads it',
    ),
    rule(
      ['src/store/**'],
      [
        ...ABOVE_STORE.map(folder),
        folder('config'),
        ...TOP.flatMap(file),
        ...file('config.ts'),
        ...file('lifecycle.ts'),
      ],
      'the store knows nothing of config, ingest, delivery or HTTP',
    ),
    rule(
      ['src/ingest/**'],
      [
        ...['delivery', 'api', 'http', 'cli', 'metrics', 'notify'].map(folder),
        ...TOP.flatMap(file),
      ],
      'ingest is below delivery, the API and the HTTP adapters',
    ),
    rule(
      ['src/delivery/**'],
      [...['api', 'http', 'cli', 'metrics', 'notify'].map(folder), ...TOP.flatMap(file)],
      'delivery is below the API and the HTTP adapters',
    ),
    rule(
      ['src/api/**'],
      [...['delivery', 'http', 'cli', 'metrics', 'notify'].map(folder), ...TOP.flatMap(file)],
      'the API reads the store; HTTP adapters are above it',
    ),
    rule(
      ['src/lifecycle.ts'],
      [
        folder('metrics'),
        folder('notify'),
        ...['ingest', 'delivery', 'api', 'http', 'cli'].map(folder),
        ...TOP.flatMap(file),
      ],
      'lifecycle events are below everything that emits or subscribes to them',
    ),
    rule(
      ['src/metrics/**'],
      [...['ingest', 'delivery', 'api', 'http', 'cli', 'notify'].map(folder), ...TOP.flatMap(file)],
      'metrics subscribe to lifecycle events and read the store; only the wiring imports them',
    ),
    rule(
      ['src/notify/**'],
      [
        ...['ingest', 'delivery', 'api', 'http', 'cli', 'metrics'].map(folder),
        ...TOP.flatMap(file),
      ],
      'notifications subscribe to lifecycle events and store through the group commit; only the wiring imports them',
    ),
    rule(
      ['src/http/**'],
      [...['store', 'delivery', 'cli', 'notify'].map(folder), ...TOP.flatMap(file)],
      'HTTP adapters hand requests to ingest and the API, nothing else',
    ),
  ];
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.hookyard/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        fetch: 'readonly',
        Headers: 'readonly',
        Response: 'readonly',
        crypto: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...layers(),
  {
    // Tests read loosely typed JSON replies.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
