// The SQLite store and the group-commit writer on a real database file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import {
  type InsertOutcome,
  type NewEvent,
  type Store,
  StoreUnavailableError,
} from '../../src/store/contract.ts';
import { GroupCommit } from '../../src/store/group-commit.ts';
import { Retention } from '../../src/store/retention.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { WalSync } from '../../src/store/sqlite/wal-sync.ts';
import { newEvent as event } from '../helpers/events.ts';

const dir = mkdtempSync(join(tmpdir(), 'hookyard-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const dbPath = () => join(dir, `s${n++}.db`);

describe('SqliteStore', () => {
  test('a new database uses 2 KiB pages in WAL mode, and migrations run once', async () => {
    const path = dbPath();
    await new SqliteStore(path).close();
    await new SqliteStore(path).close(); // a second open must not re-run migration 1
    const db = new DatabaseSync(path);
    assert.equal(db.prepare('PRAGMA page_size').get()?.page_size, 2048);
    assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    assert.deepEqual(
      db
        .prepare('SELECT version FROM schema_migrations')
        .all()
        .map((r) => r.version),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    db.close();
  });

  test('a database that cannot be opened or migrated is StoreUnavailableError, the driver error its cause', async () => {
    const opening = async (path: string) => {
      let store: SqliteStore;
      try {
        store = new SqliteStore(path, { busyTimeoutMs: 50 });
      } catch (error) {
        assert.ok(error instanceof StoreUnavailableError, String(error));
        assert.ok(error.cause instanceof Error);
        return error.code;
      }
      await store.close();
      return 'opened';
    };
    assert.equal(await opening(dir), 'storage_unavailable', 'a directory');
    // Another connection holds the write lock while the schema would be created.
    const path = dbPath();
    const other = new DatabaseSync(path);
    other.exec('PRAGMA journal_mode = WAL; BEGIN IMMEDIATE');
    assert.equal(await opening(path), 'storage_unavailable', 'a locked database');
    other.exec('ROLLBACK');
    assert.equal(await opening(path), 'opened', 'once the lock is gone');
    other.close();
  });

  test('a foreign cursor is refused', async () => {
    const store = new SqliteStore(dbPath());
    await assert.rejects(store.listEvents({ limit: 1, cursor: 'not-a-cursor' }), RangeError);
    await store.close();
  });
});

describe('Retention', () => {
  test('a pass prunes batch after batch until nothing older than the retention is left', async () => {
    const store = new SqliteStore(dbPath());
    const now = Date.now();
    const day = 86_400_000;
    await store.insertEvents([
      ...Array.from({ length: 5 }, (_, i) => event(`old${i}`, { receivedAt: now - 31 * day + i })),
      event('young', { receivedAt: now - 29 * day }),
    ]);
    const retention = new Retention(store, pino({ level: 'silent' }), {
      retentionMs: 30 * day,
      batch: 2,
      pauseMs: 0,
    });
    assert.equal(await retention.prune(now), 5);
    const left = await store.listEvents({ limit: 10 });
    assert.deepEqual(
      left.data.map((e) => e.eventId),
      ['young'],
    );
    await retention.stop();
    await store.close();
  });
});

describe('WalSync', () => {
  test('syncs requested while one runs share the next one', async () => {
    const path = dbPath();
    const store = new SqliteStore(path);
    await store.insertEvents([event('w')]);
    const wal = new WalSync(path);
    const first = wal.sync();
    const waiting = [wal.sync(), wal.sync(), wal.sync()];
    // The three late callers share one promise: one more fdatasync, not three.
    assert.equal(waiting[0], waiting[1]);
    assert.equal(waiting[1], waiting[2]);
    assert.notEqual(first, waiting[0]);
    await Promise.all([first, ...waiting]);
    wal.close();
    await store.close();
  });

  test('a missing WAL file is an error, not a silent success', async () => {
    const wal = new WalSync(join(dir, 'nothing-here.db'));
    await assert.rejects(wal.sync(), /ENOENT/);
  });
});

describe('GroupCommit', () => {
  /** A store that records batch sizes and can be told to fail. */
  function recordingStore(fail = false) {
    const batches: number[] = [];
    const store = {
      async insertEvents(batch: readonly NewEvent[]): Promise<InsertOutcome[]> {
        batches.push(batch.length);
        await new Promise((r) => setTimeout(r, 5));
        if (fail) throw new Error('disk on fire');
        return batch.map((e) => ({ id: e.id, duplicate: false }));
      },
    } as Store;
    return { store, batches };
  }

  test('events submitted in one tick share one batch; later ones form the next', async () => {
    const { store, batches } = recordingStore();
    const commits = new GroupCommit(store);
    const first = Array.from({ length: 30 }, (_, i) => commits.submit(event(`g${i}`)));
    await new Promise((r) => setImmediate(r));
    const second = Array.from({ length: 5 }, (_, i) => commits.submit(event(`h${i}`)));
    await Promise.all([...first, ...second]);
    assert.deepEqual(batches, [30, 5]);
    assert.equal(commits.stats.events, 35);
  });

  test('maxBatch splits a burst', async () => {
    const { store, batches } = recordingStore();
    const commits = new GroupCommit(store, { maxBatch: 10 });
    await Promise.all(Array.from({ length: 25 }, (_, i) => commits.submit(event(`m${i}`))));
    assert.deepEqual(batches, [10, 10, 5]);
  });

  test('a failing commit rejects every event of its batch and marks the writer unhealthy', async () => {
    const { store } = recordingStore(true);
    const commits = new GroupCommit(store);
    const results = await Promise.allSettled([
      commits.submit(event('f1')),
      commits.submit(event('f2')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal(commits.stats.healthy, false);
    assert.equal(commits.stats.failures, 1);
  });

  test('linger: a sender that waits for each answer never waits for company', async () => {
    const { store, batches } = recordingStore();
    const commits = new GroupCommit(store, { linger: 10_000 });
    const started = performance.now();
    for (let i = 0; i < 5; i++) await commits.submit(event(`l${i}`));
    assert.deepEqual(batches, [1, 1, 1, 1, 1]);
    assert.ok(performance.now() - started < 5_000, 'no submit waited out the 10 s linger');
  });

  test('linger: after a batch with company, a lone event waits until as many have come', async () => {
    const { store, batches } = recordingStore();
    const commits = new GroupCommit(store, { linger: 10_000 });
    await Promise.all([1, 2, 3].map((i) => commits.submit(event(`c${i}`))));
    const started = performance.now();
    const lone = commits.submit(event('c4'));
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(batches, [3], 'the lone event is still waiting');
    await Promise.all([lone, commits.submit(event('c5')), commits.submit(event('c6'))]);
    assert.deepEqual(batches, [3, 3]);
    assert.ok(performance.now() - started < 5_000, 'the third event ended the wait');
  });

  test('linger: a wait that found no company is not repeated', async () => {
    const { store, batches } = recordingStore();
    const commits = new GroupCommit(store, { linger: 300 });
    await Promise.all([commits.submit(event('n1')), commits.submit(event('n2'))]);
    const lingered = performance.now();
    await commits.submit(event('n3'));
    const waited = performance.now() - lingered;
    assert.ok(waited >= 290, `lingered ${waited.toFixed(0)} ms`);
    const next = performance.now();
    await commits.submit(event('n4'));
    assert.ok(performance.now() - next < 290, 'after a batch of one, the next goes at once');
    assert.deepEqual(batches, [2, 1, 1]);
  });

  test('drain waits for everything submitted', async () => {
    const { store } = recordingStore();
    const commits = new GroupCommit(store);
    let done = 0;
    for (let i = 0; i < 5; i++) void commits.submit(event(`d${i}`)).then(() => done++);
    await commits.drain();
    assert.equal(done, 5);
  });
});
