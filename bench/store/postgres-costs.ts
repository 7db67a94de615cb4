// What one routed event costs PostgreSQL from arrival to delivered: WAL bytes and table bytes
// for each step (store with its delivery, lease, record the attempt), measured through the
// store contract on a fresh database. The inputs of docs/scaling.md.
//   node bench/store/postgres-costs.ts [--pg postgres://…/postgres] [--events 20000]
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import type { Lease, NewEvent } from '../../src/store/contract.ts';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { BODY, PG_ADMIN_URL, pgAdmin } from '../lib.ts';

const { values } = parseArgs({
  options: {
    pg: { type: 'string', default: PG_ADMIN_URL },
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '50' },
  },
});
const EVENTS = Number(values.events);
const BATCH = Number(values.batch);
const admin = pgAdmin(values.pg);
const name = 'bench_store_costs';
const url = new URL(await admin.fresh(name));
const db = postgres(url.href, { max: 1, onnotice: () => undefined });
const store = new PostgresStore(url.href);
await store.migrate();

const body = new TextEncoder().encode(BODY);
const lsn = async () => (await db`SELECT pg_current_wal_lsn() AS l`)[0]?.l as string;
const walSince = async (from: string) =>
  Number(
    (await db`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${from}::pg_lsn)::float8 AS d`)[0]?.d,
  );
const headers: [string, string][] = [
  ['Content-Type', 'application/json'],
  ['X-GitHub-Event', 'issues'],
  ['X-GitHub-Delivery', '72d3162e-cc78-11e3-81ab-4c9367dc0958'],
  ['X-Hub-Signature-256', `sha256=${'0'.repeat(64)}`],
  ['User-Agent', 'GitHub-Hookshot/044aadd'],
];

async function phase(label: string, work: () => Promise<void>): Promise<void> {
  const from = await lsn();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const wal = await walSince(from);
  console.log(
    `${label.padEnd(34)} WAL ${(wal / EVENTS).toFixed(0).padStart(5)} B/event   ` +
      `gateway CPU ${((used.user + used.system) / EVENTS).toFixed(0).padStart(4)} µs/event   ` +
      `${((EVENTS / ms) * 1000).toFixed(0)} events/s`,
  );
}

let n = 0;
const event = (destinations: NewEvent['destinations']): NewEvent => ({
  id: `hye_bench_${n}`,
  source: 'gh',
  eventId: `delivery-${n++}`,
  type: 'issues',
  receivedAt: Date.now(),
  headers,
  contentType: 'application/json',
  body,
  destinations,
});

console.log(
  `bench/store postgres costs: ${EVENTS} events of ${body.length} B, batches of ${BATCH}`,
);
await phase('store, no route', async () => {
  for (let i = 0; i < EVENTS; i += BATCH)
    await store.insertEvents(Array.from({ length: BATCH }, () => event([])));
});
await phase('store with one delivery', async () => {
  for (let i = 0; i < EVENTS; i += BATCH)
    await store.insertEvents(
      Array.from({ length: BATCH }, () => event([{ destination: 'app', orderingKey: null }])),
    );
});
const leases: Lease[] = [];
await phase('lease (claim)', async () => {
  for (;;) {
    const got = await store.claimDeliveries('app', BATCH, Date.now(), Date.now() + 60_000);
    if (got.length === 0) break;
    leases.push(...got);
  }
});
await phase('record the attempt (delivered)', async () => {
  for (let i = 0; i < leases.length; i += BATCH) {
    await Promise.all(
      leases.slice(i, i + BATCH).map((l) =>
        store.finishAttempt(
          l,
          {
            n: 1,
            startedAt: Date.now(),
            durationMs: 3,
            statusCode: 200,
            response: '{"ok":true}',
            error: null,
            outcome: 'delivered',
          },
          { status: 'delivered' },
        ),
      ),
    );
  }
});
const sizes = await db`
  SELECT relname, pg_total_relation_size(c.oid)::float8 AS bytes
  FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
  WHERE ns.nspname = 'public' AND relkind = 'r' ORDER BY relname`;
for (const s of sizes) {
  const per = s.relname === 'events' ? EVENTS * 2 : EVENTS;
  console.log(
    `table ${String(s.relname).padEnd(18)} ${(Number(s.bytes) / per).toFixed(0)} B per row (with indexes and TOAST)`,
  );
}
await store.close();
await db.end();
await admin.drop(name);
await admin.end();
