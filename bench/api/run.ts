// bench/api: what an operator's reads cost on a store of a million events, on SQLite and
// PostgreSQL side by side, and what 100 live-stream subscribers cost ingest.
//   node bench/api/run.ts [--events 1000000] [--dialects sqlite,postgres] [--samples 200]
//     [--subscribers 100] [--duration 8] [--rounds 3] [--json file]
// Part 1 seeds (once; kept in ~/.cache/hookyard-bench and database bench_api_<n>, reused while
// the schema version matches) a store of realistic Stripe-like events over 30 days, with
// deliveries: mostly delivered, some dead, a backlog of pending ones not yet due. It then
// starts `hookyard serve` on it and times, one request at a time, the first page, a filtered
// page, a deep cursor page, `q=` search, an event's detail and destination health.
// Part 2 runs wrk against a fresh gateway with and without N subscribers on /api/stream, rounds
// interleaved, and checks every subscriber saw every stored event. See bench/README.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { newId } from '../../src/ids.ts';
import type { NewEvent, Store } from '../../src/store/contract.ts';
import { openStore } from '../../src/store/open.ts';
import {
  ensureBuilt,
  cpuSeconds,
  median,
  PG_ADMIN_URL,
  quantile,
  ROOT,
  SECRET,
  stop,
  waitForPort,
  wrk,
  type WrkResult,
} from '../lib.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    dialects: { type: 'string', default: 'sqlite,postgres' },
    samples: { type: 'string', default: '200' },
    subscribers: { type: 'string', default: '100' },
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'string' },
    'skip-stream': { type: 'boolean', default: false },
  },
});
const EVENTS = Number(values.events);
const SAMPLES = Number(values.samples);
const SUBSCRIBERS = Number(values.subscribers);
const DURATION = Number(values.duration);
const ROUNDS = Number(values.rounds);
const TOKEN = 'bench-api-token';
const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------
// The store: Stripe-like events, 12 types, 50,000 customers (each in ~20 events), 30 days.
const TYPES = [
  'payment_intent.succeeded',
  'payment_intent.created',
  'charge.succeeded',
  'charge.updated',
  'customer.updated',
  'invoice.paid',
  'invoice.finalized',
  'checkout.session.completed',
  'customer.subscription.updated',
  'invoice.payment_failed',
  'charge.refunded',
  'customer.subscription.deleted',
];
const SOURCES = ['stripe', 'shop', 'github'];
const DESTINATIONS = ['billing', 'ledger', 'crm'];
const CUSTOMERS = 50_000;

function body(i: number, type: string, created: number): Uint8Array {
  const customer = `cus_${(i * 7919) % CUSTOMERS}`;
  const amount = 500 + ((i * 31) % 20_000);
  return new TextEncoder().encode(
    JSON.stringify({
      id: `evt_${i.toString(36).padStart(8, '0')}`,
      object: 'event',
      api_version: '2024-06-20',
      created: Math.floor(created / 1000),
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: `req_${(i * 104_729).toString(36)}`, idempotency_key: null },
      data: {
        object: {
          id: `pi_${(i * 15_485_863).toString(36)}`,
          object: 'payment_intent',
          amount,
          amount_received: amount,
          currency: i % 5 === 0 ? 'eur' : 'usd',
          customer,
          description: `Order #${100_000 + i} for ${customer}`,
          metadata: { order_id: String(100_000 + i), plan: i % 3 === 0 ? 'pro' : 'basic' },
          payment_method: `pm_${(i * 2_750_159).toString(36)}`,
          receipt_email: `customer${(i * 7919) % CUSTOMERS}@example.com`,
          status: 'succeeded',
          shipping: {
            name: 'Jenny Rosen',
            address: { line1: '510 Townsend St', city: 'San Francisco', postal_code: '94103' },
          },
        },
      },
    }),
  );
}

/** A type no github event has (the generator gives each source some types only). */
const NEVER_GITHUB = TYPES.find(
  (t) => !Array.from({ length: 1200 }, (_, k) => TYPES[(k * 10 * 13) % TYPES.length]).includes(t),
) as string;

function event(i: number, now: number): NewEvent {
  const receivedAt = now - 30 * DAY + Math.floor((i / EVENTS) * 30 * DAY);
  const type = TYPES[(i * 13) % TYPES.length] as string;
  return {
    id: newId('hye', receivedAt),
    source: SOURCES[i % 10 === 0 ? 2 : i % 10 === 1 ? 1 : 0] as string,
    eventId: `evt_${i.toString(36).padStart(8, '0')}`,
    type,
    receivedAt,
    headers: [
      ['Host', 'hooks.example.com'],
      ['User-Agent', 'Stripe/1.0 (+https://stripe.com/docs/webhooks)'],
      ['Content-Type', 'application/json; charset=utf-8'],
      ['Stripe-Signature', `t=${Math.floor(receivedAt / 1000)},v1=${'ab'.repeat(32)}`],
    ],
    contentType: 'application/json; charset=utf-8',
    body: body(i, type, receivedAt),
    destinations: [{ destination: DESTINATIONS[i % 3] as string, orderingKey: null }],
  };
}

/** Deliveries as a month of traffic leaves them: delivered, 0.5% dead, the newest 2,000 of one
 * destination pending but not due for a day (a backlog the health view must count). */
const SETTLE = {
  sqlite: [
    `UPDATE deliveries SET status = 'delivered', attempts = 1`,
    `UPDATE deliveries SET status = 'dead', attempts = 8, last_error = 'HTTP 500' WHERE seq % 200 = 0`,
    `UPDATE deliveries SET status = 'pending', attempts = 1, next_at = next_at + ${DAY}
       WHERE seq IN (SELECT seq FROM deliveries WHERE destination = 'ledger' ORDER BY seq DESC LIMIT 2000)`,
  ],
  postgres: [
    `UPDATE deliveries SET status = 'delivered', attempts = 1`,
    `UPDATE deliveries SET status = 'dead', attempts = 8, last_error = 'HTTP 500' WHERE seq % 200 = 0`,
    `UPDATE deliveries SET status = 'pending', attempts = 1, next_at = next_at + ${DAY}
       WHERE seq IN (SELECT seq FROM deliveries WHERE destination = 'ledger' ORDER BY seq DESC LIMIT 2000)`,
    'VACUUM ANALYZE',
  ],
};

interface Seeded {
  dialect: 'sqlite' | 'postgres';
  url: string;
  /** Queries on the seeded data, for sampling parameters. */
  ids: string[];
}

const CACHE = process.env.HOOKYARD_BENCH_CACHE ?? join(homedir(), '.cache', 'hookyard-bench');

async function fill(store: Store, now: number): Promise<void> {
  const started = performance.now();
  const BATCH = 2000;
  for (let i = 0; i < EVENTS; i += BATCH) {
    const batch: NewEvent[] = [];
    for (let j = i; j < Math.min(EVENTS, i + BATCH); j++) batch.push(event(j, now));
    await store.insertEvents(batch);
    if ((i / BATCH) % 50 === 0)
      process.stdout.write(`\r  seeded ${i + batch.length} in ${elapsed(started)}`);
  }
  process.stdout.write(`\r  seeded ${EVENTS} in ${elapsed(started)}; indexing for search…\n`);
  const indexing = performance.now();
  while (((await store.indexSearch(5000)) ?? 1) > 0);
  console.log(`  indexed in ${elapsed(indexing)}`);
}

const elapsed = (since: number) => `${((performance.now() - since) / 1000).toFixed(0)} s`;

async function seedSqlite(): Promise<Seeded> {
  mkdirSync(CACHE, { recursive: true });
  const path = join(CACHE, `api-${EVENTS}.db`);
  const ready = `${path}.ready`;
  if (!existsSync(ready)) {
    rmSync(path, { force: true });
    console.log(`sqlite: seeding ${path}`);
    const store = openStore(`sqlite:${path}`);
    await store.migrate();
    await fill(store, Date.now());
    await store.close();
    const db = new DatabaseSync(path);
    for (const sql of SETTLE.sqlite) db.exec(sql);
    db.exec('ANALYZE');
    db.close();
    writeFileSync(ready, new Date().toISOString());
  } else console.log(`sqlite: reusing ${path}`);
  const db = new DatabaseSync(path, { readOnly: true });
  const ids = db
    .prepare('SELECT id FROM events WHERE seq % 997 = 0')
    .all()
    .map((r) => String(r.id));
  db.close();
  return { dialect: 'sqlite', url: `sqlite:${path}`, ids };
}

async function seedPostgres(): Promise<Seeded> {
  const name = `bench_api_${EVENTS}`;
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => undefined });
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const exists = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
  let ready = false;
  if (exists.length) {
    const db = postgres(url.href, { max: 1, onnotice: () => undefined });
    ready =
      (await db`SELECT 1 FROM pg_tables WHERE tablename = 'bench_ready'`.catch(() => [])).length >
      0;
    await db.end();
  }
  if (!ready) {
    console.log(`postgres: seeding database ${name}`);
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const store = openStore(url.href);
    await store.migrate();
    await fill(store, Date.now());
    await store.close();
    const db = postgres(url.href, { max: 1, onnotice: () => undefined });
    for (const sql of SETTLE.postgres) await db.unsafe(sql);
    await db`CREATE TABLE bench_ready (at timestamptz DEFAULT now())`;
    await db.end();
  } else console.log(`postgres: reusing database ${name}`);
  await admin.end();
  const db = postgres(url.href, { max: 1, onnotice: () => undefined });
  const ids = (await db`SELECT id FROM events WHERE seq % 997 = 0`).map((r) => String(r.id));
  await db.end();
  return { dialect: 'postgres', url: url.href, ids };
}

// ---------------------------------------------------------------------------------------------
// The gateway, one request at a time.

function startGateway(storage: string, dir: string, port: number): ChildProcess {
  const config = join(dir, 'hookyard.yaml');
  writeFileSync(
    config,
    `storage: ${storage}
server: { port: ${port} }
log_level: warn
retention: forever
api: { token: ${TOKEN} }
sources:
  stripe: { provider: stripe, secret: whsec_bench }
  shop: { provider: shopify, secret: bench-shop }
  github: { provider: github, secret: ${SECRET} }
  gh: { provider: github, secret: ${SECRET} }
destinations:
  billing: { url: "http://127.0.0.1:9/billing", allow_unsafe_url: true }
  ledger: { url: "http://127.0.0.1:9/ledger", allow_unsafe_url: true }
  crm: { url: "http://127.0.0.1:9/crm", allow_unsafe_url: true }
`,
  );
  return spawn(
    'taskset',
    ['-c', '0', process.execPath, join(ROOT, 'bin/hookyard.js'), 'serve', '--config', config],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

interface Timing {
  p50: number;
  p95: number;
  max: number;
  /** Rows in the last answer (a sanity check that the query found something). */
  rows: number;
}

async function time(
  origin: string,
  path: (i: number) => Promise<string> | string,
  samples = SAMPLES,
): Promise<Timing> {
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < samples + 5; i++) {
    const p = await path(i);
    const started = performance.now();
    const res = await fetch(`${origin}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const json = (await res.json()) as { data?: unknown[] };
    const took = performance.now() - started;
    if (res.status !== 200) throw new Error(`${p}: ${res.status} ${JSON.stringify(json)}`);
    if (i >= 5) ms.push(took); // the first five warm the caches
    rows = Array.isArray(json.data) ? json.data.length : 1;
  }
  ms.sort((a, b) => a - b);
  return { p50: quantile(ms, 0.5), p95: quantile(ms, 0.95), max: ms.at(-1) ?? 0, rows };
}

async function reads(seeded: Seeded): Promise<Record<string, Timing>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-api-'));
  const port = 19_000 + Math.floor(Math.random() * 500);
  const child = startGateway(seeded.url, dir, port);
  try {
    await waitForPort(port);
    const origin = `http://127.0.0.1:${port}`;
    const pick = <T>(xs: readonly T[], i: number) => xs[(i * 7919) % xs.length] as T;
    // A deep cursor: the page after 25 days back, from paging down with `until`.
    const deepCursor = async (i: number) => {
      const until = new Date(Date.now() - (20 + (i % 8)) * DAY).toISOString();
      const res = await fetch(`${origin}/api/events?limit=50&until=${until}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const { next_cursor } = (await res.json()) as { next_cursor: string };
      return `/api/events?limit=50&cursor=${encodeURIComponent(next_cursor)}`;
    };
    const out: Record<string, Timing> = {
      'list, first page': await time(origin, () => '/api/events?limit=50'),
      'filtered page (source + type)': await time(
        origin,
        (i) => `/api/events?limit=50&source=stripe&type=${pick(TYPES, i)}`,
      ),
      // The worst case of a filter: no event matches, so every event of the source is read.
      'filtered page (source + type, no match)': await time(
        origin,
        () => `/api/events?limit=50&source=github&type=${NEVER_GITHUB}`,
        Math.min(SAMPLES, 40),
      ),
      'filtered page (type, no match)': await time(
        origin,
        () => '/api/events?limit=50&type=account.updated',
        Math.min(SAMPLES, 10),
      ),
      'filtered page (status=dead)': await time(origin, () => '/api/events?limit=50&status=dead'),
      'filtered page (type, last 24 h)': await time(
        origin,
        (i) =>
          `/api/events?limit=50&type=${pick(TYPES, i)}&since=${new Date(Date.now() - DAY).toISOString()}`,
      ),
      'deep cursor page (20–27 days back)': await time(origin, deepCursor),
      'search q=cus_<n> (~20 hits)': await time(
        origin,
        (i) => `/api/events?limit=50&q=cus_${(((i * 104_729) % EVENTS) * 7919) % CUSTOMERS}`,
      ),
      'search q=<common word> (many hits)': await time(
        origin,
        (i) => `/api/events?limit=50&q=${pick(['jenny', 'townsend', 'succeeded', 'pro'], i)}`,
      ),
      'event detail': await time(origin, (i) => `/api/events/${pick(seeded.ids, i)}`),
      'destination health': await time(origin, () => '/api/destinations'),
    };
    return out;
  } finally {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Ingest with and without stream subscribers.

interface StreamRound extends WrkResult {
  round: number;
  subscribers: number;
  stored: number;
  /** The gateway's CPU per request, and the share of its core it used. */
  cpuUsPerRequest: number;
  busy: number;
  /** Events each subscriber saw (min, max). */
  seen?: [number, number];
}

async function ingestRound(subscribers: number, round: number): Promise<StreamRound> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-api-stream-'));
  const port = 19_500 + Math.floor(Math.random() * 400);
  const db = join(dir, 'hookyard.db');
  const child = startGateway(`sqlite:${db}`, dir, port);
  let readers: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let out = '';
  try {
    await waitForPort(port);
    const origin = `http://127.0.0.1:${port}`;
    if (subscribers > 0) {
      // The subscribers run in a process of their own on wrk's core, as remote clients would.
      readers = spawn(
        'taskset',
        ['-c', '1', process.execPath, join(ROOT, 'bench/api/subscribers.ts')],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, ORIGIN: origin, TOKEN, N: String(subscribers) },
        },
      );
      const r = readers;
      exited = new Promise((resolve) => r.once('exit', resolve));
      r.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      await Promise.race([
        new Promise<void>((resolve) => r.stdout?.once('data', () => resolve())),
        exited.then((code) => Promise.reject(new Error(`subscribers exited ${String(code)}`))),
      ]);
    }
    const url = `${origin}/webhooks/gh`;
    await wrk(url, 2, 50);
    const cpu0 = cpuSeconds(child.pid as number);
    const r = await wrk(url, DURATION, 50);
    const cpu = cpuSeconds(child.pid as number) - cpu0;
    await new Promise((resolve) => setTimeout(resolve, 2000)); // the streams catch up
    await stop(child);
    const sqlite = new DatabaseSync(db, { readOnly: true });
    const stored = Number(sqlite.prepare('SELECT count(*) AS n FROM events').get()?.n);
    sqlite.close();
    const result: StreamRound = {
      ...r,
      round,
      subscribers,
      stored,
      cpuUsPerRequest: (cpu * 1e6) / r.requests,
      busy: cpu / DURATION,
    };
    if (readers) {
      // The stream ended with the gateway; the readers print what each saw, then exit.
      await exited;
      const seen = (JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as number[]).sort(
        (a, b) => a - b,
      );
      result.seen = [seen[0] ?? 0, seen.at(-1) ?? 0];
    }
    return result;
  } finally {
    await stop(child);
    if (readers) await stop(readers);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

ensureBuilt();
console.log(
  `bench/api: ${EVENTS.toLocaleString('en')} events, ${SAMPLES} samples per query, node ${process.version}`,
);
const report: Record<string, unknown> = { events: EVENTS, samples: SAMPLES };
for (const dialect of values.dialects.split(',')) {
  const seeded = dialect === 'postgres' ? await seedPostgres() : await seedSqlite();
  const timings = await reads(seeded);
  report[dialect] = timings;
  console.log(`\n${dialect}, ${EVENTS.toLocaleString('en')} events: ms per request`);
  console.log(
    '| query | p50 | p95 | max | rows | target p95 |\n| --- | --: | --: | --: | --: | --: |',
  );
  for (const [name, t] of Object.entries(timings)) {
    const target = name.startsWith('search') ? 100 : 25;
    console.log(
      `| ${name} | ${t.p50.toFixed(1)} | ${t.p95.toFixed(1)} | ${t.max.toFixed(1)} | ${t.rows} | ${target}${t.p95 <= target ? '' : ' — **missed**'} |`,
    );
  }
}

if (!values['skip-stream']) {
  console.log(
    `\ningest with and without ${SUBSCRIBERS} /api/stream subscribers: ${ROUNDS} rounds × ${DURATION} s, wrk -c50 (gateway on core 0; wrk and the subscribers on core 1)`,
  );
  const rounds: StreamRound[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? [0, SUBSCRIBERS] : [SUBSCRIBERS, 0];
    for (const n of order) {
      const r = await ingestRound(n, round);
      rounds.push(r);
      const lost = r.seen && r.seen[0] < r.stored ? `  BEHIND: a subscriber saw ${r.seen[0]}` : '';
      console.log(
        `round ${round}  subscribers ${String(n).padStart(3)}  ${r.rps.toFixed(0).padStart(6)} req/s  gateway CPU ${r.cpuUsPerRequest.toFixed(0)} µs/request, busy ${(100 * r.busy).toFixed(0)}%  p99 ${r.p99.toFixed(1)} ms  non-2xx ${r.non2xx}  stored ${r.stored}${r.seen ? `  each subscriber saw ${r.seen[0]}–${r.seen[1]}` : ''}${lost}`,
      );
    }
  }
  const rps = (n: number) => median(rounds.filter((r) => r.subscribers === n).map((r) => r.rps));
  const ratio = rps(SUBSCRIBERS) / rps(0);
  console.log(
    `median: without ${rps(0).toFixed(0)} req/s, with ${SUBSCRIBERS} subscribers ${rps(SUBSCRIBERS).toFixed(0)} req/s → ${ratio.toFixed(2)}× (target ≥ 0.90×)`,
  );
  const cpu = (n: number) =>
    median(rounds.filter((r) => r.subscribers === n).map((r) => r.cpuUsPerRequest));
  console.log(
    `gateway CPU per request: ${cpu(0).toFixed(1)} µs without, ${cpu(SUBSCRIBERS).toFixed(1)} µs with → the stream costs ${(cpu(SUBSCRIBERS) - cpu(0)).toFixed(1)} µs per event for ${SUBSCRIBERS} subscribers; a gateway not at 100% busy was held back by the load generator's core, which the subscribers share`,
  );
  report.stream = { rounds, ratio, cpuRatio: cpu(0) / cpu(SUBSCRIBERS) };
}
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
