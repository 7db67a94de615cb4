// The interactive paths in a real terminal (tmux: send-keys, capture-pane): a bulk replay asks
// before it runs and runs on "y"; `events tail` prints events as they arrive.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../helpers/process.ts';
import { API_TOKEN, cli, type ProviderGateway, SECRETS, startProviderGateway } from './helpers.ts';

// A tmux server of our own, on a socket in a directory removed afterwards.
const socketDir = mkdtempSync(join(tmpdir(), 'hookyard-tmux-'));
const tmux = (...args: string[]) =>
  execFileSync('tmux', ['-S', join(socketDir, 'socket'), ...args], { encoding: 'utf8' });
const CLI = join(ROOT, 'src/cli/main.ts');

async function screenShows(pane: string, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const started = Date.now();
  for (;;) {
    const screen = tmux('capture-pane', '-p', '-t', pane);
    if (pattern.test(screen)) return screen;
    if (Date.now() - started > timeoutMs) assert.fail(`no ${pattern} on screen:\n${screen}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('in a terminal (tmux)', () => {
  let gw: ProviderGateway;
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  let env: NodeJS.ProcessEnv;
  before(async () => {
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const { port } = sink.address() as AddressInfo;
    gw = await startProviderGateway(
      `destinations:\n  app: { url: http://127.0.0.1:${port}/, allow_unsafe_url: true }\nroutes:\n  - { source: stripe, to: app }\n`,
    );
    env = { HOOKYARD_URL: gw.url, HOOKYARD_API_TOKEN: API_TOKEN };
    const r = await cli(
      ['send', '--provider', 'stripe', '--secret', SECRETS.stripe, '--count', '3'],
      env,
    );
    assert.equal(r.code, 0, r.stdout);
    tmux('new-session', '-d', '-s', 'main', '-x', '160', '-y', '40');
  });
  after(async () => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    rmSync(socketDir, { recursive: true, force: true });
    await gw.close();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  });

  const shell = (pane: string, argv: string[]) => {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const line = ['env', ...vars, process.execPath, CLI, ...argv].map((a) => `'${a}'`).join(' ');
    tmux('send-keys', '-t', pane, line, 'Enter');
  };

  test('a bulk replay shows the count and asks; "n" sends nothing, "y" runs it', async () => {
    shell('main', ['replay', '--source', 'stripe']);
    await screenShows('main', /replay 3 events, 3 deliveries\? \[y\/N\]/);
    tmux('send-keys', '-t', 'main', 'n', 'Enter');
    await screenShows('main', /not replayed/);
    shell('main', ['replay', '--source', 'stripe']);
    await screenShows('main', /(replay 3 events, 3 deliveries\? \[y\/N\][^\n]*\n[\s\S]*){2}/);
    tmux('send-keys', '-t', 'main', 'y', 'Enter');
    const screen = await screenShows('main', /replayed 3 events: 3 deliveries created/);
    assert.equal(screen.match(/replayed 3 events/g)?.length, 1);
  });

  test('events tail prints each new event on its own line', async () => {
    tmux('new-window', '-t', 'main', '-n', 'tail');
    shell('main:tail', ['events', 'tail', '--source', 'github']);
    await screenShows('main:tail', /tailing http:\/\/127\.0\.0\.1:\d+\/api\/stream/);
    for (const event of ['push', 'release']) {
      const r = await cli(
        ['send', '--provider', 'github', '--event', event, '--secret', SECRETS.github],
        env,
      );
      assert.equal(r.code, 0);
    }
    const screen = await screenShows('main:tail', /github +release/);
    assert.match(screen, /^\d{4}-\d\d-\d\dT\S+ +hye_\S+ +github +push +received/m);
    tmux('send-keys', '-t', 'main:tail', 'C-c');
  });
});
