// The provider type packages behind typed handlers (@octokit/openapi-webhooks-types, stripe) are
// optional peer dependencies: a TypeScript project without them must still compile against
// Hookyard's emitted declarations — with skipLibCheck off, too — and get `unknown` payloads;
// with them, typed ones. Each case is a scratch project outside this repository (so that
// nothing resolves from our node_modules by accident) holding the declarations tsc emits for
// src/, and only the packages it is meant to have.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/process.ts';

const run = promisify(execFile);
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const work = mkdtempSync(join(tmpdir(), 'hookyard-peers-'));
const declarations = join(work, 'dist');
after(() => rmSync(work, { recursive: true, force: true }));

before(async () => {
  // Exit status aside (npm test's build step judges the build): only the .d.ts files matter.
  await run(
    process.execPath,
    [
      TSC,
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--emitDeclarationOnly',
      '--declarationMap',
      'false',
      '--sourceMap',
      'false',
      '--outDir',
      declarations,
    ],
    { cwd: ROOT },
  ).catch(() => {});
});

const COMMON = `import { createHookyard, type HandlerEvent } from 'hookyard';
export const yard = createHookyard({
  storage: 'sqlite:./app.db',
  sources: { gh: { provider: 'github', secret: 'x' }, pay: { provider: 'stripe', secret: 'y' } },
});
yard.on<{ id: string }>('pay', 'anything', (event) => event.payload.id);
yard.on('gh', 'push', (event: HandlerEvent<{ ref: string }>) => event.payload.ref);
`;

const WITHOUT = `${COMMON}
// Without the type packages: unknown payloads, any event name.
yard.on('gh', 'psuh', (event) => {
  // @ts-expect-error: unknown without @octokit/openapi-webhooks-types
  void event.payload.commits;
});
yard.on('pay', 'checkout.session.completed', (event) => {
  // @ts-expect-error: unknown without stripe
  void event.payload.data;
});
`;

const WITH = `${COMMON}
yard.on('gh', 'push', (event) => event.payload.commits.map((c) => c.id));
yard.on('pay', 'checkout.session.completed', (event) => event.payload.data.object.id);
// @ts-expect-error: not a GitHub event
yard.on('gh', 'psuh', () => {});
yard.on('gh', 'push', (event) => {
  // @ts-expect-error: a push has no pull_request
  void event.payload.pull_request;
});
`;

const link = (dir: string, name: string) => {
  mkdirSync(join(dir, 'node_modules', name, '..'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
};

/** A scratch project with Hookyard's declarations, its runtime dependencies' types and `peers`. */
function project(name: string, source: string, peers: string[]): string {
  const dir = join(work, name);
  const pkg = join(dir, 'node_modules/hookyard');
  mkdirSync(pkg, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  // A copy, not a link: tsc resolves a link to its real path, whose ancestors hold our packages.
  cpSync(declarations, join(pkg, 'dist'), { recursive: true });
  for (const dep of ['pino', 'zod', 'undici', '@types/node', ...peers]) link(dir, dep);
  writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  writeFileSync(join(dir, 'app.ts'), source);
  return dir;
}

/** skipLibCheck off checks our declarations too, not only app.ts; it is the slow part. */
async function typecheck(dir: string, moduleResolution: 'nodenext' | 'bundler', libCheck: boolean) {
  const args = [
    TSC,
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    String(!libCheck),
    '--types',
    'node',
  ];
  args.push('--target', 'es2022', '--moduleResolution', moduleResolution);
  args.push('--module', moduleResolution === 'bundler' ? 'esnext' : 'nodenext', 'app.ts');
  const result = await run(process.execPath, args, { cwd: dir }).catch(
    (error: { stdout: string }) => error,
  );
  assert.equal(result.stdout, '', `tsc (${moduleResolution}) in ${dir}`);
}

test('without the type packages, the declarations compile (skipLibCheck off) and payloads are unknown', async () => {
  const dir = project('without', WITHOUT, []);
  const resolve = createRequire(join(dir, 'app.ts')).resolve;
  assert.throws(() => resolve('stripe'), { code: 'MODULE_NOT_FOUND' });
  await typecheck(dir, 'nodenext', true);
  await typecheck(dir, 'bundler', false);
});

test('with them, the same declarations type each payload', async () => {
  const dir = project('with', WITH, ['stripe', '@octokit/openapi-webhooks-types']);
  await typecheck(dir, 'nodenext', true);
});
