// The package as a user receives it: `npm pack` of the built tree (`npm run build` first; `npm
// test` builds before the tests), read file by file, then installed into a scratch project and
// used from TypeScript under node16 and bundler resolution, from plain ESM, from CommonJS
// (require(esm), Node >= 22.12) and through its bin. The tarball's dependencies come from the
// npm cache (`npm ci` fills it), or from the registry when the cache lacks one.
import { sign } from '@octokit/webhooks-methods';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, posix } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ts from 'typescript';
import { ROOT } from '../helpers/process.ts';

/** What `hookyard` exports at run time: the library, the gateway, config loading, error
 * codes. Everything else is a type, or internal. */
const RUNTIME_EXPORTS = [
  'ConfigError',
  'ERROR_CODES',
  'createHookyard',
  'loadConfig',
  'parseConfigText',
  'startGateway',
];

/** Modules whose top-level statements act only on their own bindings: dropping them when
 * their exports are unused changes nothing, so they need not be in `sideEffects`. */
const LOCAL_ONLY: Record<string, string> = {
  'dist/verify/encoding.js': 'fills its own hex and base64 lookup tables',
};

// The children get this Node first on PATH and none of the npm_* variables of an enclosing
// `npm test`, which would steer the scratch project's npm (its prefix, its scripts).
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
);
env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

function run(command: string, args: string[], cwd: string, timeout = 60_000): string {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout });
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`,
  );
  return result.stdout;
}

const work = mkdtempSync(join(tmpdir(), 'hookyard-pack-'));
const unpacked = join(work, 'unpacked', 'package');
let tarball = '';
/** The tarball's paths, as npm lists them (`/`-separated, relative to the package root). */
let files = new Set<string>();
let manifest: { exports: Record<string, unknown>; sideEffects: string[] };
const read = (path: string) => readFileSync(join(unpacked, path), 'utf8');

before(() => {
  assert.ok(existsSync(join(ROOT, 'dist/index.js')), 'dist/ is missing: run `npm run build`');
  // --ignore-scripts: pack the tree as built, without `prepare` rebuilding dist/ under the
  // feet of the other test files that run the compiled CLI meanwhile.
  const out = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  assert.ok(info);
  tarball = join(work, info.filename);
  files = new Set(info.files.map((f) => f.path));
  mkdirSync(dirname(unpacked), { recursive: true });
  run('tar', ['-xzf', tarball, '-C', dirname(unpacked)], work);
  manifest = JSON.parse(read('package.json'));
});

after(() => rmSync(work, { recursive: true, force: true }));

describe('the packed tarball', () => {
  test('holds the license, the entries, the sources its maps name, and nothing else', () => {
    for (const path of ['LICENSE', 'README.md', 'bin/hookyard.js', 'src/index.ts']) {
      assert.ok(files.has(path), `${path} is not in the package`);
    }
    const targets = (value: unknown): string[] =>
      typeof value === 'string' ? [value] : Object.values(value as object).flatMap(targets);
    for (const target of targets(manifest.exports)) {
      assert.ok(files.has(target.slice(2)), `exports names ${target}, which is not packed`);
    }
    for (const path of files) {
      assert.doesNotMatch(path, /^(test|bench|examples|docs|scripts|\.ci|node_modules)\//);
      // A build that does not start from an empty dist/ ships the output of deleted sources.
      // dist/ui is the dashboard, built by Vite from ui/ (minified, no maps: not ours to step into).
      const compiled = /^dist\/(?!ui\/)(.*)\.js$/.exec(path)?.[1];
      if (compiled) assert.ok(files.has(`src/${compiled}.ts`), `${path} has no source: stale?`);
      assert.doesNotMatch(path, /\.tgz$/);
    }
    assert.match(read('LICENSE'), /^MIT License\n\nCopyright \(c\) 2026 The Hookyard authors\n/);
  });

  test('every compiled file has a source map, and every map resolves inside the package', () => {
    const compiled = [...files].filter(
      (f) => f.startsWith('dist/') && !f.startsWith('dist/ui/') && /\.(js|d\.ts)$/.test(f),
    );
    assert.ok(compiled.length > 50);
    for (const file of compiled) {
      const url = /\n\/\/# sourceMappingURL=(\S+)\s*$/.exec(read(file))?.[1];
      assert.ok(url, `${file} names no source map`);
      const map = posix.join(posix.dirname(file), url);
      assert.ok(files.has(map), `${file} names ${map}, which is not packed`);
      const { sources, sourceRoot, sourcesContent } = JSON.parse(read(map)) as {
        sources: string[];
        sourceRoot?: string;
        sourcesContent?: (string | null)[];
      };
      assert.ok(sources.length > 0, `${map} names no source`);
      sources.forEach((source, i) => {
        if (typeof sourcesContent?.[i] === 'string') return;
        const path = posix.normalize(posix.join(posix.dirname(map), sourceRoot ?? '', source));
        assert.ok(files.has(path), `${map} names ${source} (${path}), which is not packed`);
      });
    }
  });

  test('sideEffects lists every module that acts when imported, and each entry is packed', () => {
    const patterns = manifest.sideEffects.map((pattern) => {
      const parts = pattern.replace(/^\.\//, '').split('*');
      const escaped = parts.map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
      return { pattern, regex: new RegExp(`^${escaped.join('[^/]*')}$`) };
    });
    const listed = (path: string) => patterns.some(({ regex }) => regex.test(path));
    for (const { pattern, regex } of patterns) {
      assert.ok(
        [...files].some((f) => regex.test(f)),
        `sideEffects: ${pattern} matches no file`,
      );
    }
    const modules = [...files].filter((f) => /^(dist|bin)\/(?!ui\/).*\.js$/.test(f));
    for (const file of modules) {
      const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest);
      for (const statement of source.statements) {
        // An import for its effect alone: a bundler drops it unless its target is listed.
        if (ts.isImportDeclaration(statement) && !statement.importClause) {
          const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
          const target = posix.join(posix.dirname(file), specifier);
          assert.ok(listed(target), `${file} imports ${specifier} for its effect; list it`);
          continue;
        }
        const declares =
          ts.isImportDeclaration(statement) ||
          ts.isExportDeclaration(statement) ||
          ts.isExportAssignment(statement) ||
          ts.isFunctionDeclaration(statement) ||
          ts.isClassDeclaration(statement) ||
          ts.isVariableStatement(statement) ||
          ts.isEmptyStatement(statement);
        if (declares || file in LOCAL_ONLY) continue;
        assert.ok(
          listed(file),
          `${file} acts when imported (${statement.getText(source).slice(0, 60)}…): list it in sideEffects`,
        );
      }
    }
  });
});

describe('installed into a scratch project', () => {
  const app = join(work, 'app');
  let signature = '';
  const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });

  before(async () => {
    mkdirSync(app, { recursive: true });
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }),
    );
    run(
      'npm',
      ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock'],
      app,
      120_000,
    );
    // Signed by Octokit's own signer, independent of the verifier under test.
    signature = await sign('it-is-a-secret', body);
  });

  for (const resolution of ['node16', 'bundler'] as const) {
    test(`TypeScript (moduleResolution ${resolution}) finds the types of every entry`, () => {
      const dir = join(app, `ts-${resolution}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: resolution === 'node16' ? 'node16' : 'preserve',
            moduleResolution: resolution,
            target: 'es2023',
            strict: true,
            noEmit: true,
            // The package's own declarations are checked too, as a user's default build does.
            skipLibCheck: false,
            types: ['node'],
            typeRoots: [join(ROOT, 'node_modules/@types')],
          },
          files: ['main.ts'],
        }),
      );
      writeFileSync(
        join(dir, 'main.ts'),
        `import { createHookyard, ERROR_CODES, type ErrorCode, type Hookyard } from 'hookyard';
import { createVerifier, type VerifyResult } from 'hookyard/verify';
import { createVerifier as createWebVerifier } from 'hookyard/verify/web';
// @ts-expect-error internal classes are not part of the public surface
import { SqliteStore } from 'hookyard';
// @ts-expect-error modules outside "exports" cannot be reached
import { SqliteStore as Internal } from 'hookyard/dist/store/sqlite/store.js';

export const yard: Hookyard = createHookyard({
  storage: 'sqlite::memory:',
  sources: { gh: { provider: 'github', secret: 'it-is-a-secret' } },
});
const result: VerifyResult = createVerifier({ provider: 'github', secret: 's' }).verify({
  body: '{}',
  headers: {},
});
export const code: ErrorCode | undefined = result.ok ? undefined : result.error.code;
export const status: number = ERROR_CODES.signature_invalid.status;
export const web: Promise<VerifyResult> = createWebVerifier({ provider: 'github', secret: 's' }).verify({ body: '{}', headers: {} });
`,
      );
      run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], dir);
    });
  }

  test('plain ESM imports both entries, and a verifier verifies a signed request', () => {
    const script = `
      const hookyard = await import('hookyard');
      const { createVerifier } = await import('hookyard/verify');
      const web = await import('hookyard/verify/web');
      const [body, signature] = process.argv.slice(1);
      const headers = { 'x-hub-signature-256': signature, 'x-github-event': 'ping' };
      const verifier = createVerifier({ provider: 'github', secret: 'it-is-a-secret' });
      const webVerifier = web.createVerifier({ provider: 'github', secret: 'it-is-a-secret' });
      const forged = { ...headers, 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) };
      console.log(JSON.stringify({
        exports: Object.keys(hookyard).sort(),
        good: verifier.verify({ body, headers }).ok,
        goodWeb: (await webVerifier.verify({ body, headers })).ok,
        forged: verifier.verify({ body, headers: forged }).error?.code,
      }));`;
    const out = run(process.execPath, ['--input-type=module', '-e', script, body, signature], app);
    assert.deepEqual(JSON.parse(out), {
      exports: RUNTIME_EXPORTS,
      good: true,
      goodWeb: true,
      forged: 'signature_invalid',
    });
  });

  test('CommonJS requires it (require of ESM), and the bin runs', () => {
    const out = run(
      process.execPath,
      [
        '--input-type=commonjs',
        '-e',
        "console.log(JSON.stringify(Object.keys(require('hookyard')).sort()))",
      ],
      app,
    );
    assert.deepEqual(JSON.parse(out), RUNTIME_EXPORTS);
    const version = run(join(app, 'node_modules/.bin/hookyard'), ['--version'], app);
    assert.equal(
      version.trim(),
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    );
  });
});
