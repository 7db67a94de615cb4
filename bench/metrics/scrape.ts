// How long does GET /metrics take on a large store? (Target, issue 14: a 1,000,000-event store
// answers a scrape in ≤ 50 ms.) A fresh store is seeded through its own insert API, in big
// batches, with N events, each with a pending delivery to `backlog` (the worst case: a backlog
// of N, every one of them still pending), every 100th also to `some` (N/100 pending), and a
// configured `idle` destination with nothing. Then `--scrapes` scrapes are timed, each reading
// the queue from the store anew (the one-second reuse of a read is turned off), and with them
// the longest the event loop was blocked (SQLite reads run on the main thread: what a scrape
// costs ingest).
//   node bench/metrics/scrape.ts [--events 1000000] [--scrapes 30] [--dialect sqlite|postgres|both]
//     [--pg <admin url>] [--no-vacuum]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { newId } from '../../src/ids.ts';
import { Lifecycle } from '../../src/lifecycle.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import type { NewEvent, Store } from '../../src/store/contract.ts';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { PG_ADMIN_URL, pgAdmin } from '../lib.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    scrapes: { type: 'string', default: '30' },
    dialect: { type: 'string', default: 'sqlite' },
    pg: { type: 'string', default: PG_ADMIN_URL },
    batch: { type: 'string', default: '5000' },
    'no-vacuum': { type: 'boolean', default: false },
  },
});
const EVENTS = Number(values.events);
const SCRAPES = Number(values.scrapes);
const BATCH = Number(values.batch);
const BODY = new TextEncoder().encode(
  JSON.stringify({ id: 'evt_x', type: 'charge.refunded', data: { object: { id: 'ch_1' } } }),
);

async function seed(store: Store): Promise<void> {
  const started = performance.now();
  // Received over the last hour, oldest first: the oldest pending delivery is an hour old.
  const t0 = Date.now() - 3_600_000;
  for (let done = 0; done < EVENTS;) {
    const batch: NewEvent[] = [];
    for (const end = Math.min(EVENTS, done + BATCH); done < end; done++) {
      const at = t0 + Math.floor((done / EVENTS) * 3_590_000);
      batch.push({
        id: newId('hye', at),
        source: 'stripe',
        eventId: `evt_${done}`,
        type: 'charge.refunded',
        receivedAt: at,
        headers: [['content-type', 'application/json']],
        contentType: 'application/json',
        body: BODY,
        destinations:
          done % 100 === 0
            ? [
                { destination: 'backlog', orderingKey: null },
                { destination: 'some', orderingKey: null },
              ]
            : [{ destination: 'backlog', orderingKey: null }],
      });
    }
    await store.insertEvents(batch);
    if (done % 200_000 === 0 || done === EVENTS)
      process.stderr.write(
        `  seeded ${done} events (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
      );
  }
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;

/** `destinations`: those the gateway is configured with in this scenario. */
async function measure(
  name: string,
  store: Store,
  scenario: string,
  destinations: string[],
): Promise<void> {
  const lifecycle = new Lifecycle();
  const metrics = createMetrics({
    lifecycle,
    store,
    sources: ['stripe'],
    destinations,
    storeMaxAgeMs: 0,
    storeTimeoutMs: 10_000,
  });
  const times: number[] = [];
  const blocked: number[] = [];
  // The longest the event loop went without running a 1 ms timer during a scrape: what a
  // request arriving then would have waited.
  let last = performance.now();
  let gap = 0;
  const ticker = setInterval(() => {
    const t = performance.now();
    gap = Math.max(gap, t - last);
    last = t;
  }, 1);
  let text = '';
  for (let i = 0; i < SCRAPES + 2; i++) {
    await new Promise((r) => setTimeout(r, 5));
    last = performance.now();
    gap = 0;
    const t = performance.now();
    text = await metrics.scrape();
    const ms = performance.now() - t;
    await new Promise((r) => setTimeout(r, 2)); // the ticker's view of the scrape's end
    // The first two warm the statements and the page cache.
    if (i >= 2) {
      times.push(ms);
      blocked.push(gap);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  clearInterval(ticker);
  // The queue read alone (destinationHealth), as the scrape makes it.
  const reads: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await store.destinationHealth(destinations, Date.now(), Date.now());
    reads.push(performance.now() - t);
  }
  metrics.close();
  times.sort((a, b) => a - b);
  blocked.sort((a, b) => a - b);
  reads.sort((a, b) => a - b);
  const main = destinations[0] as string;
  const pending = new RegExp(
    `^hookyard_deliveries_pending\\{destination="${main}"\\} (\\d+)$`,
    'm',
  ).exec(text)?.[1];
  const age = new RegExp(
    `^hookyard_delivery_oldest_pending_age_seconds\\{destination="${main}"\\} (\\S+)$`,
    'm',
  ).exec(text)?.[1];
  const result = {
    dialect: name,
    scenario,
    events: EVENTS,
    destinations,
    [`pending_${main}`]: Number(pending),
    oldestPendingAgeS: Math.round(Number(age)),
    scrapes: SCRAPES,
    scrapeMs: {
      p50: +pct(times, 50).toFixed(2),
      p95: +pct(times, 95).toFixed(2),
      max: +(times.at(-1) as number).toFixed(2),
    },
    eventLoopBlockedMs: {
      p50: +pct(blocked, 50).toFixed(2),
      max: +(blocked.at(-1) as number).toFixed(2),
    },
    queueReadMs: { p50: +pct(reads, 50).toFixed(2), max: +(reads.at(-1) as number).toFixed(2) },
    bytes: text.length,
  };
  console.log(JSON.stringify(result));
  const want = main === 'backlog' ? EVENTS : Math.ceil(EVENTS / 100);
  if (Number(pending) !== want) throw new Error(`pending ${pending}, expected ${want}`);
}

/** A store of N events where 1% are still pending (a gateway keeping up), then the same store
 * configured with the destination that has all N pending (the worst case). */
async function scenarios(name: string, store: Store): Promise<void> {
  await measure(name, store, '1% pending', ['some', 'idle']);
  await measure(name, store, 'all pending', ['backlog', 'some', 'idle']);
}

const dialects = values.dialect === 'both' ? ['sqlite', 'postgres'] : [values.dialect];
for (const dialect of dialects) {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'hookyard-bench-metrics-'));
    const store = new SqliteStore(join(dir, 'hookyard.db'));
    try {
      await store.migrate();
      await seed(store);
      await scenarios('sqlite', store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (dialect === 'postgres') {
    const admin = pgAdmin(values.pg);
    const db = 'hookyard_bench_metrics';
    const url = await admin.fresh(db);
    const store = new PostgresStore(url);
    try {
      await store.migrate();
      await seed(store);
      if (!values['no-vacuum']) {
        // What autovacuum does to a table this size soon after the load: statistics for the
        // planner, and the visibility map that lets a count read the index alone.
        const sql = postgres(url, { max: 1, onnotice: () => undefined });
        await sql.unsafe('VACUUM (ANALYZE) deliveries');
        await sql.end();
      }
      await scenarios(values['no-vacuum'] ? 'postgres (no vacuum)' : 'postgres', store);
    } finally {
      await store.close();
      await admin.drop(db);
      await admin.end();
    }
  } else throw new Error(`--dialect: sqlite, postgres or both, not ${dialect}`);
}
