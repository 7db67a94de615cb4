// `hookyard serve` logs: readable lines with --log-format pretty (the default on a terminal),
// JSON lines otherwise; a bad value is a usage error (exit 2). Real processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hookyard-logs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts serve, waits for its "listening" line, stops it; resolves to what it printed. */
function serve(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--storage',
        `sqlite:${join(dir, `${Math.random()}.db`)}`,
        '--port',
        '0',
        ...args,
      ],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('hookyard listening on')) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ out, code });
    });
  });
}

test('--log-format pretty: readable lines, no JSON', async () => {
  const { out } = await serve(['--log-format', 'pretty']);
  const line = out.split('\n').find((l) => l.includes('hookyard listening on')) ?? '';
  assert.match(line, /INFO.*hookyard listening on/);
  assert.ok(!line.trimStart().startsWith('{'), line);
});

test('not a terminal and no flag: JSON lines; HOOKYARD_LOG_FORMAT=pretty: readable', async () => {
  const json = await serve([]);
  const line = json.out.split('\n').find((l) => l.includes('hookyard listening on')) ?? '';
  assert.equal(JSON.parse(line).msg.startsWith('hookyard listening on'), true);
  const pretty = await serve([], { HOOKYARD_LOG_FORMAT: 'pretty' });
  assert.match(pretty.out, /INFO.*hookyard listening on/);
});

test('a bad --log-format is a usage error: exit 2, named', async () => {
  const { out, code } = await serve(['--log-format', 'xml']);
  assert.equal(code, 2);
  assert.match(out, /--log-format/);
});
