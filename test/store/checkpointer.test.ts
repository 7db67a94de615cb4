// The checkpoint thread on real database files: the WAL starts over under a writer that never
// pauses, nothing written is lost, and a checkpointer that cannot run hands back to SQLite.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DatabaseSync } from 'node:sqlite';
import { setImmediate as tick } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GroupCommit } from '../../src/store/group-commit.ts';
import { Checkpointer } from '../../src/store/sqlite/checkpointer.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { newEvent } from '../helpers/events.ts';

const dir = mkdtempSync(join(tmpdir(), 'hookyard-checkpoint-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const dbPath = () => join(dir, `c${n++}.db`);
const walSize = (path: string) => statSync(`${path}-wal`).size;
const EAGER = { passEveryMs: 1, resetFrames: 64 };
const MiB = 1024 * 1024;
const WRITER = fileURLToPath(new URL('../helpers/checkpoint-writer.ts', import.meta.url));

/** A WAL database as the store makes it, with SQLite's own checkpoint off. */
function walDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA page_size = 2048');
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (b BLOB)');
  return db;
}

/** `commits` commits of five 1.5 KB rows, each as the store makes one: after any hold, and
 * told to the checkpointer. The worker's answers arrive between commits, as between batches. */
async function writeSteadily(
  db: DatabaseSync,
  checkpointer: Checkpointer,
  commits: number,
  afterEach: () => void = () => {},
): Promise<void> {
  const insert = db.prepare('INSERT INTO t VALUES (randomblob(1500))');
  for (let i = 0; i < commits; i++) {
    const held = checkpointer.held;
    if (held) await held;
    db.exec('BEGIN IMMEDIATE');
    for (let j = 0; j < 5; j++) insert.run();
    db.exec('COMMIT');
    checkpointer.wrote();
    afterEach();
    await tick();
  }
}

describe('Checkpointer', () => {
  test('under a writer that commits between every pass, the WAL still starts over', async () => {
    const path = dbPath();
    const db = walDatabase(path);
    let fellBack = false;
    const checkpointer = new Checkpointer(path, () => (fellBack = true), EAGER);
    let largest = 0;
    await writeSteadily(db, checkpointer, 2000, () => {
      largest = Math.max(largest, walSize(path));
    });
    await checkpointer.close();
    // 10,000 rows of 1.5 KB: about 20 MiB of WAL if it never started over.
    assert.ok(largest < 4 * MiB, `the WAL grew to ${largest} bytes`);
    assert.ok(checkpointer.stats.holds > 0, 'commits were never held for a restart');
    assert.equal(fellBack, false);
    db.close();
    const check = new DatabaseSync(path, { readOnly: true });
    assert.equal(check.prepare('SELECT count(*) AS n FROM t').get()?.n, 10_000);
    check.close();
  });

  test('while a reader pins old frames, commits are held once per resetFrames of growth, not per pass', async () => {
    const path = dbPath();
    const db = walDatabase(path);
    // Another process's long read transaction, as a second connection: its snapshot pins
    // every frame written after it began.
    const reader = new DatabaseSync(path);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM t').get();
    const resetFrames = 1024;
    const checkpointer = new Checkpointer(path, () => {}, { passEveryMs: 1, resetFrames });
    await writeSteadily(db, checkpointer, 1500);
    await checkpointer.close();
    const frames = Number(db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get()?.log);
    assert.ok(frames > 5 * resetFrames, `only ${frames} frames: the reader pinned nothing`);
    const { holds, passes } = checkpointer.stats;
    assert.ok(holds <= frames / resetFrames + 1, `${holds} holds in ${passes} passes`);
    reader.exec('COMMIT');
    reader.close();
    db.close();
  });

  test(
    'a checkpointer that cannot open the database gives checkpoints back to SQLite',
    {
      timeout: 5000,
    },
    async () => {
      await new Promise<void>((resolve) => {
        new Checkpointer(join(dir, 'no-such-dir', 'x.db'), resolve, EAGER);
      });
    },
  );
});

describe('SqliteStore with its checkpoint thread', () => {
  test('kill -9 amid passes and holds: every acknowledged event is there after reopening', async () => {
    const path = dbPath();
    const child = spawn(process.execPath, [WRITER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: string[] = [];
    createInterface({ input: child.stdout }).on('line', (id) => acknowledged.push(id));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.ok(acknowledged.length > 1000, `only ${acknowledged.length} acknowledged`);
    const store = new SqliteStore(path); // recovers from the WAL
    await store.close();
    const db = new DatabaseSync(path, { readOnly: true });
    const stored = new Set(
      db
        .prepare('SELECT event_id FROM events')
        .all()
        .map((r) => String(r.event_id)),
    );
    db.close();
    const lost = acknowledged.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged events lost`);
  });

  test('keeps the WAL bounded under group commit, and every event survives a reopen', async () => {
    const path = dbPath();
    const store = new SqliteStore(path, { checkpoint: EAGER });
    const commits = new GroupCommit(store);
    const body = new Uint8Array(1500).fill(120);
    let largest = 0;
    const sender = async (s: number) => {
      for (let i = 0; i < 200; i++) {
        await commits.submit(newEvent(`e${s}-${i}`, { body }));
        largest = Math.max(largest, walSize(path));
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, s) => sender(s)));
    await store.close();
    // 10,000 events of 1.5 KB: about 30 MiB of WAL if it never started over. The worker's
    // start-up takes tens of ms, during which the WAL grows unchecked.
    assert.ok(largest < 10 * MiB, `the WAL grew to ${largest} bytes`);
    assert.equal(
      existsSync(`${path}-wal`),
      false,
      'the last close checkpoints and removes the WAL',
    );
    const reopened = new SqliteStore(path);
    const page = await reopened.listEvents({ limit: 1 });
    assert.equal(page.data.length, 1);
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(db.prepare('SELECT count(*) AS n FROM events').get()?.n, 10_000);
    db.close();
    await reopened.close();
  });
});
