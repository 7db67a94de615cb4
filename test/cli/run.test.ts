// The command table in-process (`run(argv, io)`): help per command, exit codes, usage errors on
// stderr, the environment, and the data commands (events, replay) against a real gateway.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tailEvents } from '../../src/cli/commands/events.ts';
import { COMMANDS } from '../../src/cli/run.ts';
import { API_TOKEN, cli, type ProviderGateway, SECRETS, startProviderGateway } from './helpers.ts';

describe('the command table', () => {
  test('every command has its own --help (exit 0, stdout), listing each of its options', async () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      const paths = command.subCommands
        ? Object.keys(command.subCommands).map((s) => [name, s])
        : [[name]];
      for (const path of paths) {
        const r = await cli([...path, '--help']);
        assert.equal(r.code, 0, path.join(' '));
        assert.equal(r.stderr, '');
        assert.match(r.stdout, new RegExp(`^hookyard ${path.join(' ')} — `));
        const leaf = command.subCommands ? command.subCommands[path[1] as string] : command;
        for (const [arg, def] of Object.entries(leaf?.args ?? {})) {
          if (def.type !== 'positional')
            assert.match(r.stdout, new RegExp(`--${arg}\\b`), `${path.join(' ')} --${arg}`);
        }
        assert.ok(!r.stdout.includes(String.fromCharCode(27)), 'colour codes in a pipe');
      }
    }
  });

  test('the root: help, version, unknown commands', async () => {
    const bare = await cli([]);
    assert.equal(bare.code, 1);
    assert.match(bare.stdout, /serve +receive, verify and store webhooks/);
    assert.equal((await cli(['--help'])).code, 0);
    assert.match((await cli(['--version'])).stdout, /^\d+\.\d+\.\d+/);
    const unknown = await cli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command frobnicate/);
    const sub = await cli(['events', 'nope']);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /unknown command events nope/);
    assert.equal((await cli(['events'])).code, 2);
  });

  test('usage errors: exit 2, the reason on stderr, nothing on stdout', async () => {
    const cases: [string[], RegExp][] = [
      [['migrate', '--nope'], /unknown option --nope/],
      [['migrate', '--storage'], /--storage needs a value/],
      [['events', 'show'], /Missing required positional argument: ID/],
      [['events', 'list', '--url', 'not a url'], /--url: expected an http/],
      [['replay'], /give event ids, or filters/],
      [['replay', 'hye_1', '--status', 'dead'], /give event ids or filters, not both/],
      [['serve', '--port', 'abc'], /--port: expected a port number/],
      [
        ['send', '--provider', 'hmac', '--secret', 's', '--algorithm', 'md5'],
        /Invalid value for argument: --algorithm \(md5\)\. Expected one of: sha1, sha256, sha512/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
      assert.ok(!r.stderr.includes(String.fromCharCode(27)), 'colour codes on stderr');
      assert.equal(r.stdout, '');
    }
  });

  test('HOOKYARD_CONFIG names the config file; --config wins over it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookyard-run-'));
    try {
      const config = join(dir, 'h.yaml');
      writeFileSync(config, `storage: sqlite:${join(dir, 'h.db')}\n`);
      const r = await cli(['migrate', '--json'], { HOOKYARD_CONFIG: config });
      assert.equal(r.code, 0, r.stderr);
      assert.ok((JSON.parse(r.stdout) as { version: number }).version > 0);
      const again = await cli(['migrate'], { HOOKYARD_CONFIG: config });
      assert.match(again.stdout, /^schema up to date at version \d+\n$/);
      const missing = await cli(['migrate'], { HOOKYARD_CONFIG: join(dir, 'nope.yaml') });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /nope\.yaml/);
      const flag = await cli(['migrate', '--config', config], {
        HOOKYARD_CONFIG: join(dir, 'nope.yaml'),
      });
      assert.equal(flag.code, 0, flag.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a gateway that cannot be reached is exit 1 with the address, not a stack', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await cli(['events', 'list'], { HOOKYARD_URL: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `hookyard events list: cannot reach the gateway at http://127.0.0.1:${port}: ECONNREFUSED\n`,
    );
  });
});

describe('events and replay against a gateway', () => {
  let gw: ProviderGateway;
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end('ok'));
  });
  let env: NodeJS.ProcessEnv;
  before(async () => {
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const port = (sink.address() as AddressInfo).port;
    gw = await startProviderGateway(
      `destinations:\n  app: { url: http://127.0.0.1:${port}/hooks, allow_unsafe_url: true }\nroutes:\n  - { source: stripe, to: app }\n`,
    );
    env = { HOOKYARD_URL: gw.url, HOOKYARD_API_TOKEN: API_TOKEN };
    for (const event of ['charge.refunded', 'payment_intent.succeeded']) {
      const r = await cli(
        ['send', '--provider', 'stripe', '--event', event, '--secret', SECRETS.stripe],
        env,
      );
      assert.equal(r.code, 0, r.stdout);
    }
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  });

  test('events list: a table, or the API page with --json; filters pass through', async () => {
    const json = await cli(['events', 'list', '--json', '--source', 'stripe'], env);
    assert.equal(json.code, 0, json.stderr);
    const page = JSON.parse(json.stdout) as { data: { id: string; type: string }[] };
    assert.deepEqual(page.data.map((e) => e.type).sort(), [
      'charge.refunded',
      'payment_intent.succeeded',
    ]);
    const text = await cli(['events', 'list', '--type', 'charge.refunded'], env);
    assert.match(text.stdout, /^RECEIVED +ID +SOURCE +TYPE +STATUS +BYTES$/m);
    assert.equal(text.stdout.trim().split('\n').length, 2);
    assert.match(text.stdout, /hye_\S+ +stripe +charge\.refunded/);
    const none = await cli(['events', 'list', '--source', 'github'], env);
    assert.equal(none.stdout, 'no events\n');
    const bad = await cli(['events', 'list', '--status', 'nonsense'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /the gateway answered 400/);
  });

  test('events show: headers, the body and the deliveries', async () => {
    const page = JSON.parse((await cli(['events', 'list', '--json'], env)).stdout) as {
      data: { id: string }[];
    };
    const id = page.data[0]?.id as string;
    const r = await cli(['events', 'show', id], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Headers:\n {2}[^\n]*\n/);
    assert.match(r.stdout, /stripe-signature: t=\d+,v1=[0-9a-f]{64}/i);
    assert.match(r.stdout, /"object": "event"/);
    assert.match(r.stdout, /Deliveries:\n {2}app {2}/);
    const json = JSON.parse((await cli(['events', 'show', id, '--json'], env)).stdout) as {
      id: string;
    };
    assert.equal(json.id, id);
  });

  test('events tail: a new event appears while tailing', async () => {
    let out = '';
    const controller = new AbortController();
    const io = { stdout: { write: (c: string) => (out += c) }, stderr: { write: () => true }, env };
    const tailing = tailEvents({ source: 'github', json: true }, io, controller.signal);
    await new Promise((r) => setTimeout(r, 200));
    const sent = await cli(
      ['send', '--provider', 'github', '--event', 'issues', '--secret', SECRETS.github],
      env,
    );
    assert.equal(sent.code, 0);
    for (let i = 0; i < 50 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    assert.equal(await tailing, 0);
    const line = JSON.parse(out.split('\n')[0] as string) as { source: string; type: string };
    assert.deepEqual([line.source, line.type], ['github', 'issues']);
  });

  test('replay: the count first; without --yes and a terminal it stops; --yes runs it', async () => {
    const dry = await cli(['replay', '--source', 'stripe', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, 'would replay 2 events, 2 deliveries\n');
    const asked = await cli(['replay', '--source', 'stripe'], env);
    assert.equal(asked.code, 2);
    assert.match(asked.stderr, /would replay 2 events, 2 deliveries: pass --yes/);
    const run = await cli(['replay', '--source', 'stripe', '--yes', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      dry_run: false,
      events: 2,
      deliveries: 2,
      truncated: false,
    });
    const page = JSON.parse(
      (await cli(['events', 'list', '--json', '--source', 'stripe'], env)).stdout,
    ) as { data: { id: string }[] };
    const one = await cli(['replay', page.data[0]?.id as string], env);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /: 1 deliveries \(app\)/);
  });
});
