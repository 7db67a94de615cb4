// On a Node older than 22.13 (still the default on many machines) the CLI and the library say
// which Node they need and exit 1, instead of dying on a missing built-in (node:sqlite).
// Needs an old Node to run: the machine's own (Debian's /usr/bin/node is 20 here), or
// HOOKYARD_OLD_NODE naming one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/process.ts';

function oldNode(): string | undefined {
  for (const candidate of [process.env.HOOKYARD_OLD_NODE, '/usr/bin/node', '/usr/local/bin/node']) {
    if (!candidate || !existsSync(candidate)) continue;
    const v = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    const [major = 99, minor = 99] = v.stdout.trim().split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 13)) return candidate;
  }
  return undefined;
}

const node = oldNode();
const skip = node ? false : 'no Node older than 22.13 on this machine (set HOOKYARD_OLD_NODE)';

describe('an old Node', { skip }, () => {
  test('the CLI says which Node it needs and exits 1', () => {
    const run = spawnSync(node as string, [join(ROOT, 'bin/hookyard.js'), 'serve'], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /Hookyard needs Node\.js 22\.13 or newer \(found \d+\.\d+\.\d+\)/);
    assert.doesNotMatch(run.stderr, /ERR_UNKNOWN_BUILTIN_MODULE/);
  });

  test('importing the library says the same', () => {
    const run = spawnSync(
      node as string,
      ['--input-type=module', '-e', "await import('./dist/index.js')"],
      { encoding: 'utf8', cwd: ROOT },
    );
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /Hookyard needs Node\.js 22\.13 or newer/);
    assert.doesNotMatch(run.stderr, /ERR_UNKNOWN_BUILTIN_MODULE/);
  });
});
