// One bad event never fails the others that share its commit (src/store/group-commit.ts), every
// test on both dialects: a SQLite file and a real PostgreSQL database. The poisoned rows here
// bypass ingest's checks, as a value only the database refuses would.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import {
  type InsertOutcome,
  type NewEvent,
  type Store,
  StoreUnavailableError,
} from '../../src/store/contract.ts';
import { EventRefusedError, GroupCommit } from '../../src/store/group-commit.ts';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { newEvent } from '../helpers/events.ts';
import {
  createTestDatabase,
  POSTGRES_SKIP,
  POSTGRES_UNREACHABLE_URL,
  type TestDatabase,
} from '../helpers/postgres.ts';

interface Dialect {
  name: 'sqlite' | 'postgres';
  skip: string | false;
  /** A fresh, migrated, empty store. */
  open(): Promise<Store>;
  /** A store that cannot take a write now, and a way to end that. */
  down(): Promise<{ store: Store; end(): Promise<void> }>;
}

const dir = mkdtempSync(join(tmpdir(), 'hookyard-hygiene-'));
let pg: TestDatabase | undefined;
before(async () => {
  if (!POSTGRES_SKIP) pg = await createTestDatabase('hookyard_hygiene');
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await pg?.drop();
});

let n = 0;
const DIALECTS: Dialect[] = [
  {
    name: 'sqlite',
    skip: false,
    async open() {
      return new SqliteStore(join(dir, `h${n++}.db`));
    },
    async down() {
      // Another connection holds the write lock: SQLITE_BUSY once the busy timeout is out.
      const path = join(dir, `h${n++}.db`);
      const store = new SqliteStore(path, { busyTimeoutMs: 100 });
      const other = new DatabaseSync(path);
      other.exec('BEGIN IMMEDIATE');
      return {
        store,
        async end() {
          other.exec('ROLLBACK');
          other.close();
          await store.close();
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: POSTGRES_SKIP,
    async open() {
      const store = new PostgresStore(await (pg as TestDatabase).schema(), { pool: 4 });
      await store.migrate();
      return store;
    },
    async down() {
      const store = new PostgresStore(POSTGRES_UNREACHABLE_URL, {
        pool: 2,
        connectTimeoutSec: 2,
      });
      return { store, end: () => store.close() };
    },
  },
];

/** The real store, with the size of each batch it was handed recorded (GroupCommit only
 * inserts, so the wrapper has nothing else). */
function counting(store: Store): { store: Store; batches: number[] } {
  const batches: number[] = [];
  const spy: Pick<Store, 'insertEvents'> = {
    insertEvents(batch) {
      batches.push(batch.length);
      return store.insertEvents(batch);
    },
  };
  return { store: spy as Store, batches };
}

/** Submits all in one tick (so they share one batch) and settles each. */
function submitTogether(commits: GroupCommit, events: NewEvent[]) {
  return Promise.allSettled(events.map((e) => commits.submit(e)));
}

for (const dialect of DIALECTS) {
  describe(`one bad event per commit: ${dialect.name}`, { skip: dialect.skip }, () => {
    const stores: Store[] = [];
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });
    async function fresh(): Promise<Store> {
      const store = await dialect.open();
      stores.push(store);
      return store;
    }

    test('a row the store refuses: its batch-mates are stored, the culprit alone fails', async () => {
      const store = await fresh();
      const stored = newEvent('first');
      await store.insertEvents([stored]);
      const { store: spy, batches } = counting(store);
      const commits = new GroupCommit(spy);
      // A Hookyard id already taken by another event: a unique violation on both dialects.
      const culprit = newEvent('culprit', { id: stored.id });
      const mates = Array.from({ length: 20 }, (_, i) => newEvent(`mate${i}`));
      const events = [...mates.slice(0, 7), culprit, ...mates.slice(7)];
      const results = await submitTogether(commits, events);

      assert.equal(batches[0], 21, 'all 21 were submitted as one batch');
      results.forEach((r, i) => {
        const e = events[i] as NewEvent;
        if (e === culprit) {
          assert.equal(r.status, 'rejected');
          assert.ok((r as PromiseRejectedResult).reason instanceof EventRefusedError);
        } else assert.deepEqual(r, { status: 'fulfilled', value: { id: e.id, duplicate: false } });
      });
      for (const e of mates) assert.equal((await store.getEvent(e.id))?.eventId, e.eventId);
      const page = await store.listEvents({ limit: 100 });
      assert.equal(page.data.length, 21, 'the 20 batch-mates and the first event, no culprit');
      assert.ok(!page.data.some((e) => e.eventId === 'culprit'));
      assert.equal(commits.stats.refused, 1);
      assert.equal(commits.stats.failures, 0);
      assert.equal(commits.stats.healthy, true);
      assert.ok(batches.length <= 1 + 2 * Math.ceil(Math.log2(21)), `${batches.length} commits`);
    });

    test('split batches keep their order: a duplicate still points at the first of its id', async () => {
      const store = await fresh();
      const stored = newEvent('taken');
      await store.insertEvents([stored]);
      const commits = new GroupCommit(store);
      const a = newEvent('same');
      const b = newEvent('same');
      const culprit = newEvent('culprit', { id: stored.id });
      const events = [newEvent('x1'), a, newEvent('x2'), culprit, b, newEvent('x3')];
      const results = await submitTogether(commits, events);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      assert.deepEqual((results[1] as PromiseFulfilledResult<InsertOutcome>).value, {
        id: a.id,
        duplicate: false,
      });
      assert.deepEqual((results[4] as PromiseFulfilledResult<InsertOutcome>).value, {
        id: a.id,
        duplicate: true,
      });
    });

    test('values PostgreSQL text cannot hold: refused alone there, stored on SQLite', async () => {
      const store = await fresh();
      const commits = new GroupCommit(store);
      // U+0000 in the event id, the type and an ordering key (ingest checks the first two;
      // these bypass it), and an ordering key whose index row is over PostgreSQL's page size.
      const bigKey = Array.from({ length: 4000 }, (_, i) => `${i * 7919}`).join('');
      const poisoned = [
        newEvent('nul\u0000id'),
        newEvent('nul-type', { type: 'a\u0000b' }),
        newEvent('nul-key', { destinations: [{ destination: 'd', orderingKey: 'k\u0000' }] }),
        newEvent('big-key', { destinations: [{ destination: 'd', orderingKey: bigKey }] }),
      ];
      const mates = Array.from({ length: 12 }, (_, i) => newEvent(`ok${i}`));
      const events = [...mates.slice(0, 3), ...poisoned, ...mates.slice(3)];
      const results = await submitTogether(commits, events);
      results.forEach((r, i) => {
        const e = events[i] as NewEvent;
        if (dialect.name === 'postgres' && poisoned.includes(e)) {
          assert.equal(r.status, 'rejected', e.eventId);
          assert.ok((r as PromiseRejectedResult).reason instanceof EventRefusedError);
        } else assert.deepEqual(r, { status: 'fulfilled', value: { id: e.id, duplicate: false } });
      });
      for (const e of mates) assert.ok(await store.getEvent(e.id));
      assert.equal(commits.stats.refused, dialect.name === 'postgres' ? 4 : 0);
      assert.equal(commits.stats.healthy, true);
    });

    test('a store that is down fails the whole batch at once, not event by event', async (t) => {
      const down = await dialect.down();
      t.after(() => down.end());
      const { store, batches } = counting(down.store);
      const commits = new GroupCommit(store);
      const started = performance.now();
      const results = await submitTogether(
        commits,
        Array.from({ length: 20 }, (_, i) => newEvent(`down${i}`)),
      );
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        const reason = (r as PromiseRejectedResult).reason as unknown;
        assert.ok(reason instanceof StoreUnavailableError);
        assert.ok(!(reason instanceof EventRefusedError));
      }
      assert.deepEqual(batches, [20], 'one attempt for the batch');
      assert.ok(performance.now() - started < 5_000);
      assert.equal(commits.stats.failures, 1);
      assert.equal(commits.stats.refused, 0);
      assert.equal(commits.stats.healthy, false);
    });
  });
}
