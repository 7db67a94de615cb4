// Destination health and the activity counts (src/store/series.ts), every test on both
// dialects: a SQLite file and a real PostgreSQL database (one per run of this file, a schema
// per test). Times are explicit, so that window edges are tested exactly.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { parseConfigText } from '../../src/config.ts';
import { createEngine } from '../../src/engine.ts';
import { newId } from '../../src/ids.ts';
import {
  type AttemptRecord,
  type Lease,
  type Store,
  StoreUnavailableError,
  type Verdict,
} from '../../src/store/contract.ts';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { createdAt } from '../../src/store/series-sql.ts';
import { ActivityCounter, MINUTE_MS } from '../../src/store/series.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { newEvent } from '../helpers/events.ts';
import { createTestDatabase, POSTGRES_SKIP, type TestDatabase } from '../helpers/postgres.ts';

const silent = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'hookyard-health-'));
let pg: TestDatabase | undefined;
before(async () => {
  if (!POSTGRES_SKIP) pg = await createTestDatabase('hookyard_health');
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await pg?.drop();
});

let n = 0;
const DIALECTS: { name: string; skip: string | false; location(): Promise<() => Store> }[] = [
  {
    name: 'sqlite',
    skip: false,
    async location() {
      const path = join(dir, `h${n++}.db`);
      return () => new SqliteStore(path);
    },
  },
  {
    name: 'postgres',
    skip: POSTGRES_SKIP,
    async location() {
      const url = await (pg as TestDatabase).schema();
      return () => new PostgresStore(url, { pool: 4 });
    },
  },
];

/** A minute boundary a little in the past: real enough for the counter's pruning (8 days). */
const NOW = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 10 * MINUTE_MS;
const T0 = NOW - 3_600_000;

const to = (destination: string) => [{ destination, orderingKey: null }];

function record(lease: Lease, at: number, v: Verdict, statusCode: number): AttemptRecord {
  return {
    n: lease.attempt,
    startedAt: at,
    durationMs: 5,
    statusCode,
    response: null,
    error: null,
    outcome: v.status === 'pending' ? 'retry' : v.status,
  };
}

const failure = (
  outcome: AttemptRecord['outcome'],
  statusCode: number | null,
  error: string | null,
) =>
  ({
    n: 1,
    startedAt: NOW,
    durationMs: 1,
    statusCode,
    response: null,
    error,
    outcome,
  }) satisfies AttemptRecord;

for (const dialect of DIALECTS) {
  describe(`destination health and activity: ${dialect.name}`, { skip: dialect.skip }, () => {
    const stores: Store[] = [];
    after(async () => {
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
    });
    async function fresh(): Promise<{ store: Store; more(): Store }> {
      const open = await dialect.location();
      const more = () => {
        const s = open();
        stores.push(s);
        return s;
      };
      const store = more();
      await store.migrate();
      return { store, more };
    }

    test('the queue: pending, in flight, oldest pending, dead — per destination, and none for one never used', async () => {
      const { store } = await fresh();
      // Five deliveries to `a`, created a second apart, and one to `b`.
      const events = [0, 1, 2, 3, 4].map((i) =>
        newEvent(`q${i}`, { receivedAt: T0 + i * 1000, destinations: to('a') }),
      );
      await store.insertEvents([
        ...events,
        newEvent('qb', { receivedAt: T0, destinations: to('b') }),
      ]);
      const t = T0 + 60_000;
      // The two oldest: one delivered, one dead.
      const [l0, l1] = await store.claimDeliveries('a', 2, t, t + 30_000);
      assert.ok(l0 && l1);
      await store.finishAttempt(l0, record(l0, t, { status: 'delivered' }, 200), {
        status: 'delivered',
      });
      const dead: Verdict = { status: 'dead', reason: '410 Gone' };
      await store.finishAttempt(l1, record(l1, t, dead, 410), dead);
      // The third: leased now (in flight), the oldest still pending.
      const [l2] = await store.claimDeliveries('a', 1, t, t + 30_000);
      assert.ok(l2);
      // The fourth: its lease ran out (a worker that died): pending, not in flight.
      const [l3] = await store.claimDeliveries('a', 1, t, t + 1000);
      assert.ok(l3);
      // The fifth: failed once, waiting for its retry.
      const [l4] = await store.claimDeliveries('a', 1, t, t + 30_000);
      assert.ok(l4);
      const retry: Verdict = { status: 'pending', nextAt: t + 600_000 };
      await store.finishAttempt(l4, record(l4, t, retry, 500), retry);
      // `b`: dead at once.
      const [lb] = await store.claimDeliveries('b', 1, t, t + 30_000);
      assert.ok(lb);
      await store.finishAttempt(lb, record(lb, t, dead, 410), dead);

      const now = t + 5000;
      const health = await store.destinationHealth(['a', 'b', 'never'], now, T0);
      assert.deepEqual(
        health.map(({ minutes: _, lastError: __, ...queue }) => queue),
        [
          { destination: 'a', pending: 2, inFlight: 1, oldestPendingAt: T0 + 2000, dead: 1 },
          { destination: 'b', pending: 0, inFlight: 0, oldestPendingAt: null, dead: 1 },
          { destination: 'never', pending: 0, inFlight: 0, oldestPendingAt: null, dead: 0 },
        ],
      );
      // A replay is a delivery as young as the replay, however old its event.
      await store.replayEvent(events[1]?.id as string, 'c', now, false);
      const [c] = await store.destinationHealth(['c'], now, T0);
      assert.equal(c?.oldestPendingAt, now);
      assert.equal(c?.pending, 1);
    });

    test('recent outcomes: counts added up per minute, the windows to the minute, the newest error kept', async () => {
      const { store } = await fresh();
      const counter = new ActivityCounter(store, silent);
      // 61 minutes ago: outside the hour. 59 and 5 minutes ago: inside the hour, outside the
      // 5 minutes (the current minute and the 4 before). 4 minutes ago and now: inside both.
      const at = (minutesAgo: number) => NOW - minutesAgo * MINUTE_MS + 1234;
      const ok = failure('delivered', 200, null);
      for (const m of [60, 59, 5, 4, 0]) counter.attempt('a', ok, at(m));
      counter.attempt('a', failure('retry', 500, null), at(60));
      counter.attempt('a', failure('retry', null, 'connect ECONNREFUSED 127.0.0.1:9'), at(59));
      counter.attempt('a', failure('dead', 503, null), at(4));
      counter.attempt('b', failure('retry', 502, null), at(30));
      await counter.flush(NOW);
      // Counted after the flush: this process's own, read from memory; the newest error.
      counter.attempt('a', failure('retry', null, 'timeout after 10000 ms'), at(0) + 1);
      counter.attempt('a', ok, at(0));

      const [a, b, never] = await counter.health(['a', 'b', 'never'], NOW + 30_000);
      assert.deepEqual(
        { ...a, oldestPendingAt: null },
        {
          destination: 'a',
          pending: 0,
          inFlight: 0,
          oldestPendingAt: null,
          dead: 0,
          delivered5m: 3,
          failed5m: 2,
          delivered1h: 5,
          failed1h: 3,
          lastError: { error: 'timeout after 10000 ms', at: at(0) + 1 },
        },
      );
      assert.equal(b?.failed1h, 1);
      assert.equal(b?.failed5m, 0);
      assert.deepEqual(b?.lastError, { error: 'HTTP 502', at: at(30) });
      assert.equal(never?.lastError, null);
      assert.equal(never?.failed1h, 0);

      // Once flushed, the store alone answers the same; its newest error too.
      await counter.flush(NOW);
      const [stored] = await store.destinationHealth(['a'], NOW, NOW - 59 * MINUTE_MS);
      assert.deepEqual(stored?.lastError, { error: 'timeout after 10000 ms', at: at(0) + 1 });
      assert.deepEqual(
        stored?.minutes.map((m) => [m.bucket, m.delivered, m.failed]),
        [
          [NOW - 59 * MINUTE_MS, 1, 1],
          [NOW - 5 * MINUTE_MS, 1, 0],
          [NOW - 4 * MINUTE_MS, 1, 1],
          [NOW, 2, 1],
        ],
      );
      // An error older than the newest one stored for its minute does not replace it.
      await store.addActivity(
        [],
        [
          {
            destination: 'a',
            bucket: NOW,
            delivered: 0,
            failed: 1,
            lastError: { error: 'older', at: NOW },
          },
        ],
      );
      const [again] = await store.destinationHealth(['a'], NOW, NOW);
      assert.deepEqual(again?.lastError, { error: 'timeout after 10000 ms', at: at(0) + 1 });
      assert.equal(again?.minutes[0]?.failed, 2);
    });

    test('series: buckets per window, zeros where nothing happened, unflushed counts included', async () => {
      const { store } = await fresh();
      const counter = new ActivityCounter(store, silent);
      const now = NOW + 42_000;
      const received = (minutesAgo: number, times = 1) => {
        for (let i = 0; i < times; i++) counter.received(NOW - minutesAgo * MINUTE_MS + i);
      };
      received(0, 3);
      received(2, 2);
      received(59);
      received(60); // the bucket before the hour's first
      counter.attempt('a', failure('delivered', 200, null), NOW - 2 * MINUTE_MS);
      counter.attempt('a', failure('retry', 500, null), NOW - 2 * MINUTE_MS);
      await counter.flush(now);
      received(0, 2); // not flushed

      const hour = await counter.series('1h', now);
      assert.equal(hour.bucketMs, 60_000);
      assert.equal(hour.data.length, 60);
      assert.equal(hour.data.at(-1)?.bucket, NOW);
      assert.equal(hour.data[0]?.bucket, NOW - 59 * MINUTE_MS);
      hour.data.forEach((b, i) => assert.equal(b.bucket, NOW - (59 - i) * MINUTE_MS));
      const nonzero = hour.data.filter((b) => b.received + b.delivered + b.failed > 0);
      assert.deepEqual(nonzero, [
        { bucket: NOW - 59 * MINUTE_MS, received: 1, delivered: 0, failed: 0 },
        { bucket: NOW - 2 * MINUTE_MS, received: 2, delivered: 1, failed: 1 },
        { bucket: NOW, received: 5, delivered: 0, failed: 0 },
      ]);

      const sum = (s: { data: { received: number }[] }) =>
        s.data.reduce((t, b) => t + b.received, 0);
      const six = await counter.series('6h', now);
      assert.equal(six.bucketMs, 60_000);
      assert.equal(six.data.length, 360);
      assert.equal(sum(six), 9);
      const day = await counter.series('24h', now);
      assert.equal(day.bucketMs, 300_000);
      assert.equal(day.data.length, 288);
      assert.equal(day.data.at(-1)?.bucket, Math.floor(now / 300_000) * 300_000);
      assert.equal(sum(day), 9);
      // Minutes summed into their 5-minute bucket.
      const fives = new Map(day.data.map((b) => [b.bucket, b.received]));
      const fiveOf = (ms: number) => Math.floor(ms / 300_000) * 300_000;
      const expected = new Map<number, number>();
      for (const [m, k] of [
        [0, 5],
        [2, 2],
        [59, 1],
        [60, 1],
      ] as const) {
        const key = fiveOf(NOW - m * MINUTE_MS);
        expected.set(key, (expected.get(key) ?? 0) + k);
      }
      for (const [key, k] of expected) assert.equal(fives.get(key), k);
      const week = await counter.series('7d', now);
      assert.equal(week.bucketMs, 3_600_000);
      assert.equal(week.data.length, 168);
      assert.equal(sum(week), 9);
      assert.equal(week.data.at(-1)?.bucket, Math.floor(now / 3_600_000) * 3_600_000);
    });

    test('two stores (processes) flushing into one store add up; each reads its own unflushed counts', async () => {
      const { store, more } = await fresh();
      const other = more();
      const [one, two] = [new ActivityCounter(store, silent), new ActivityCounter(other, silent)];
      // Many flushes at once, the same minutes in each: adds, never overwrites.
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 10; i++) {
          one.received(NOW + i);
          two.received(NOW + i);
          two.received(NOW - MINUTE_MS);
          one.attempt('a', failure('delivered', 200, null), NOW);
          two.attempt('a', failure('retry', 500, null), NOW - MINUTE_MS);
        }
        await Promise.all([one.flush(NOW), two.flush(NOW)]);
      }
      one.received(NOW);
      const series = await one.series('1h', NOW);
      assert.deepEqual(series.data.slice(-2), [
        { bucket: NOW - MINUTE_MS, received: 50, delivered: 0, failed: 50 },
        { bucket: NOW, received: 101, delivered: 50, failed: 0 },
      ]);
      const [a] = await two.health(['a'], NOW);
      assert.equal(a?.delivered1h, 50);
      assert.equal(a?.failed1h, 50);
      assert.deepEqual(a?.lastError, { error: 'HTTP 500', at: NOW - MINUTE_MS });
    });

    test('the engine counts from the lifecycle events and flushes on close', async () => {
      const open = await dialect.location();
      const store = open();
      const config = parseConfigText('storage: sqlite:unused.db\n', {});
      const engine = createEngine(config, { store, logger: silent });
      await store.migrate();
      const base = { deliveryId: 'hyd_x', eventId: 'hye_x', destination: 'a' };
      for (let i = 0; i < 3; i++) {
        engine.lifecycle.emit('event:received', {
          id: `hye_${i}`,
          source: 's',
          type: null,
          destinations: [],
        });
      }
      engine.lifecycle.emit('delivery:attempt', { ...base, attempt: failure('retry', 503, null) });
      engine.lifecycle.emit('delivery:attempt', { ...base, attempt: failure('dead', 500, null) });
      engine.lifecycle.emit('delivery:dead', { ...base, reason: '2 attempts failed' });
      engine.lifecycle.emit('delivery:attempt', {
        ...base,
        attempt: failure('delivered', 200, null),
      });
      engine.lifecycle.emit('delivery:succeeded', { ...base, attempts: 1 });
      await engine.close(); // flushes
      const reopened = open();
      stores.push(reopened);
      const counter = new ActivityCounter(reopened, silent);
      const total = (await counter.series('1h')).data.reduce(
        (t, b) => ({
          received: t.received + b.received,
          delivered: t.delivered + b.delivered,
          failed: t.failed + b.failed,
        }),
        { received: 0, delivered: 0, failed: 0 },
      );
      assert.deepEqual(total, { received: 3, delivered: 1, failed: 2 });
      const [a] = await counter.health(['a']);
      assert.equal(a?.lastError?.error, 'HTTP 500');
    });

    test('old minutes are pruned', async () => {
      const { store } = await fresh();
      const counter = new ActivityCounter(store, silent, { keepMs: 10 * MINUTE_MS });
      counter.received(NOW - 11 * MINUTE_MS);
      counter.received(NOW - 10 * MINUTE_MS);
      counter.attempt('a', failure('retry', 500, null), NOW - 11 * MINUTE_MS);
      counter.attempt('a', failure('retry', 500, null), NOW - 10 * MINUTE_MS);
      await store.addActivity(
        [{ bucket: NOW - 11 * MINUTE_MS, received: 1, delivered: 0, failed: 0 }],
        [],
      );
      await counter.flush(NOW); // adds, then prunes what is older than 10 minutes
      const left = await store.activity(0, NOW + MINUTE_MS, MINUTE_MS);
      assert.deepEqual(left, [
        { bucket: NOW - 10 * MINUTE_MS, received: 1, delivered: 0, failed: 1 },
      ]);
      const [a] = await store.destinationHealth(['a'], NOW, 0);
      assert.deepEqual(
        a?.minutes.map((m) => m.bucket),
        [NOW - 10 * MINUTE_MS],
      );
    });

    test('a closed store: the new methods reject with StoreUnavailableError', async () => {
      const { store } = await fresh();
      await store.close();
      const row = { bucket: NOW, received: 1, delivered: 0, failed: 0 };
      for (const call of [
        () => store.addActivity([row], []),
        () => store.activity(0, NOW, MINUTE_MS),
        () => store.destinationHealth(['a'], NOW, 0),
        () => store.pruneActivity(NOW),
        () => new ActivityCounter(store, silent).series('1h'),
      ]) {
        await assert.rejects(call(), StoreUnavailableError);
      }
    });
  });
}

test('sqlite: a flush that fails keeps its counts for the next one', async () => {
  const path = join(dir, `h${n++}.db`);
  const store = new SqliteStore(path, { busyTimeoutMs: 50 });
  try {
    const counter = new ActivityCounter(store, silent);
    counter.received(NOW);
    counter.attempt('a', failure('retry', 500, null), NOW);
    const other = new DatabaseSync(path);
    other.exec('BEGIN IMMEDIATE'); // holds the write lock
    await assert.rejects(counter.flush(NOW), StoreUnavailableError);
    counter.received(NOW);
    other.exec('ROLLBACK');
    other.close();
    await counter.flush(NOW);
    assert.deepEqual(await store.activity(NOW, NOW + MINUTE_MS, MINUTE_MS), [
      { bucket: NOW, received: 2, delivered: 0, failed: 1 },
    ]);
    const [a] = await store.destinationHealth(['a'], NOW, NOW);
    assert.deepEqual(a?.lastError, { error: 'HTTP 500', at: NOW });
  } finally {
    await store.close();
  }
});

test('sqlite: health and series read through indexes, never a scan of a table', async () => {
  const path = join(dir, `h${n++}.db`);
  await new SqliteStore(path).close();
  const db = new DatabaseSync(path);
  try {
    const { seriesQueries, SQLITE_PLACEHOLDER } = await import('../../src/store/series-sql.ts');
    const q = seriesQueries(SQLITE_PLACEHOLDER);
    const plan = (text: string, ...params: (string | number)[]) =>
      db
        .prepare(`EXPLAIN QUERY PLAN ${text}`)
        .all(...params)
        .map((r) => String(r.detail));
    const health = plan(q.health, 'a', NOW);
    for (const index of ['deliveries_due', 'deliveries_leased', 'deliveries_dead']) {
      assert.ok(
        health.some((d) => d.includes(index)),
        `${index} in ${health.join(' | ')}`,
      );
    }
    for (const detail of [
      ...health,
      ...plan(q.minutes, 'a', NOW),
      ...plan(q.activity, 60_000, NOW, NOW),
      ...q.prune.flatMap((text) => plan(text, NOW)),
    ]) {
      // A table is SEARCHed through an index, never SCANned (`SCAN q` is the one-row count).
      assert.doesNotMatch(
        detail,
        /^SCAN (events|deliveries|attempts|stats_minute|destination_stats_minute)\b/,
        detail,
      );
    }
  } finally {
    db.close();
  }
});

test('a delivery id says when it was created', () => {
  for (const at of [0, T0, NOW + 987, 2 ** 47]) assert.equal(createdAt(newId('hyd', at)), at);
  assert.equal(createdAt('nope'), null);
});
