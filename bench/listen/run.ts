// bench/listen: `hookyard listen` forwarding on loopback, gateway → listen → local app.
//   node bench/listen/run.ts [--backlog 10000] [--live 5000] [--concurrency 32] [--json file]
// Starts `hookyard serve` (SQLite) and a local app (node:http, in this process) that checks
// every Stripe signature with the official stripe package. Part 1, catch-up: a listener is
// registered, then `--backlog` events are stored while no listen runs; `hookyard listen` is
// started and timed until the local app has them all (from the spawn, and from its
// "connected" line). Part 2, live: with listen running, `--live` events are sent as fast as
// `--concurrency` senders can, and the forwarding rate is the events over the time from the
// first send to the last arrival. Both parts check that every event arrived, each verified.
// Part 3 sends the same live load through a plain SSE relay beside it (relay.ts: the smee
// design, no storage, no acks, each message forwarded as it arrives, bytes kept intact).
// Targets (issue 13): ≥ 1,000 events/s live, a 10,000-event backlog caught up in ≤ 10 s,
// none lost.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Stripe from 'stripe';

const { values } = parseArgs({
  options: {
    backlog: { type: 'string', default: '10000' },
    live: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '32' },
    json: { type: 'string' },
  },
});
const BACKLOG = Number(values.backlog);
const LIVE = Number(values.live);
const CONCURRENCY = Number(values.concurrency);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');
const SECRET = 'whsec_bench_listen';
const TOKEN = 'bench-listen-token';
const stripe = new Stripe('sk_test_offline');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Stripe-like event of about 1.5 KB, its seq inside. */
function body(seq: number): string {
  const event = {
    id: `evt_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    type: 'payment_intent.succeeded',
    data: { object: { id: `pi_${seq}`, object: 'payment_intent', seq, description: '' } },
  };
  event.data.object.description = 'x'.repeat(Math.max(0, 1536 - JSON.stringify(event).length));
  return JSON.stringify(event);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function spawnCli(args: string[], onOutput: (text: string) => void): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => onOutput(c.toString()));
  child.stderr?.on('data', (c: Buffer) => onOutput(c.toString()));
  return child;
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'hookyard-bench-listen-'));
  const port = await freePort();
  const config = join(dir, 'gw.yaml');
  writeFileSync(
    config,
    `storage: sqlite:${join(dir, 'gw.db')}\nserver: { host: 127.0.0.1, port: ${port} }\n` +
      `api: { token: ${TOKEN} }\nsources:\n  stripe: { provider: stripe, secret: ${SECRET} }\n`,
  );
  const url = `http://127.0.0.1:${port}`;
  let gwOut = '';
  const gateway = spawnCli(['serve', '--config', config], (t) => (gwOut += t));
  let listenOut = '';
  let listener: ChildProcess | undefined;
  const appServer = createServer();
  try {
    await until('the gateway', () => gwOut.includes('hookyard listening on'), 15_000);

    // The local app: every signature checked with the stripe package.
    const seen = new Set<number>();
    let received = 0;
    let invalid = 0;
    let lastAt = 0;
    appServer.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const event = stripe.webhooks.constructEvent(
            Buffer.concat(chunks),
            String(req.headers['stripe-signature']),
            SECRET,
          );
          seen.add((event.data.object as unknown as { seq: number }).seq);
          received++;
          lastAt = performance.now();
          res.writeHead(200).end();
        } catch {
          invalid++;
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((r) => appServer.listen(0, '127.0.0.1', r));
    const appUrl = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}/webhooks`;

    const send = async (from: number, to: number, base = url) => {
      let next = from;
      const worker = async () => {
        while (next < to) {
          const seq = next++;
          const text = body(seq);
          const header = stripe.webhooks.generateTestHeaderString({
            payload: text,
            secret: SECRET,
          });
          const res = await fetch(`${base}/webhooks/stripe`, {
            method: 'POST',
            body: text,
            headers: { 'content-type': 'application/json', 'stripe-signature': header },
          });
          await res.text();
          if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    };

    // Part 1: register the listener (a stream with ?listener= stores it at the head), store
    // the backlog, then start listen and time the catch-up.
    const auth = { authorization: `Bearer ${TOKEN}` };
    const reg = await fetch(`${url}/api/stream?listener=bench`, { headers: auth });
    if (reg.status !== 200) throw new Error(`stream answered ${reg.status}`);
    await reg.body?.cancel();
    const storing = performance.now();
    await send(0, BACKLOG);
    const storedMs = performance.now() - storing;
    const spawned = performance.now();
    let connectedAt = 0;
    listener = spawnCli(
      ['listen', '--url', url, '--token', TOKEN, '--name', 'bench', '--forward-to', appUrl],
      (t) => {
        if (t.includes('connected') && connectedAt === 0) connectedAt = performance.now();
        // Per-event lines are not kept: only connections and reconnections.
        if (t.includes('connected') || t.includes('reconnecting')) listenOut += t;
      },
    );
    await until('the backlog', () => seen.size >= BACKLOG, 120_000);
    const catchUp = {
      events: BACKLOG,
      stored_in_s: +(storedMs / 1000).toFixed(2),
      caught_up_from_spawn_s: +((lastAt - spawned) / 1000).toFixed(2),
      caught_up_from_connected_s: +((lastAt - connectedAt) / 1000).toFixed(2),
      rate_per_s: Math.round(BACKLOG / ((lastAt - connectedAt) / 1000)),
    };

    // Part 2: live, listen running.
    const before = received;
    const first = performance.now();
    await send(BACKLOG, BACKLOG + LIVE);
    const sentMs = performance.now() - first;
    await until('the live events', () => seen.size >= BACKLOG + LIVE, 120_000);
    const liveMs = lastAt - first;
    const live = {
      events: LIVE,
      ingest_rate_per_s: Math.round(LIVE / (sentMs / 1000)),
      forwarded_in_s: +(liveMs / 1000).toFixed(2),
      forward_rate_per_s: Math.round(LIVE / (liveMs / 1000)),
    };
    await sleep(300);
    const listenReceived = received;
    const listenSeen = seen.size;

    // Part 3, beside it: the same live load through a plain SSE relay (bench/listen/relay.ts,
    // the smee design with bytes kept intact), its client forwarding to the same local app.
    listener.kill('SIGKILL');
    const relayPort = await freePort();
    const relayUrl = `http://127.0.0.1:${relayPort}`;
    let relayOut = '';
    const relayServer = spawn(
      process.execPath,
      [join(ROOT, 'bench/listen/relay.ts'), 'server', String(relayPort)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    relayServer.stdout?.on('data', (c: Buffer) => (relayOut += c.toString()));
    await until('the relay', () => relayOut.includes('relay listening'), 15_000);
    const relayClient = spawn(
      process.execPath,
      [join(ROOT, 'bench/listen/relay.ts'), 'client', relayUrl, appUrl],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    relayClient.stdout?.on('data', (c: Buffer) => (relayOut += c.toString()));
    let relay: Record<string, number> = {};
    try {
      await until('the relay client', () => relayOut.includes('relay client connected'), 15_000);
      const relayFrom = BACKLOG + LIVE + 1_000_000;
      const relayFirst = performance.now();
      await send(relayFrom, relayFrom + LIVE, relayUrl);
      const relaySentMs = performance.now() - relayFirst;
      await until('the relayed events', () => seen.size >= listenSeen + LIVE, 60_000).catch(
        () => undefined,
      );
      const relayMs = lastAt - relayFirst;
      relay = {
        events: LIVE,
        ingest_rate_per_s: Math.round(LIVE / (relaySentMs / 1000)),
        forwarded: seen.size - listenSeen,
        forwarded_in_s: +(relayMs / 1000).toFixed(2),
        forward_rate_per_s: Math.round((seen.size - listenSeen) / (relayMs / 1000)),
      };
    } finally {
      relayClient.kill('SIGKILL');
      relayServer.kill('SIGKILL');
    }
    const result = {
      backlog: catchUp,
      live,
      relay_live: relay,
      listen_over_relay: +(live.forward_rate_per_s / (relay.forward_rate_per_s ?? NaN)).toFixed(2),
      lost: BACKLOG + LIVE - listenSeen,
      duplicates: listenReceived - listenSeen,
      live_duplicates: listenReceived - before - LIVE,
      invalid_signatures: invalid,
      listen_log: listenOut.trim().split('\n'),
    };
    console.log(JSON.stringify(result, null, 2));
    if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
    if (result.lost !== 0 || invalid !== 0) process.exitCode = 1;
  } finally {
    listener?.kill('SIGKILL');
    gateway.kill('SIGTERM');
    await new Promise((r) => gateway.once('exit', r));
    appServer.closeAllConnections();
    appServer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
