// (d) The durable floor: the bare receiver (a) plus one SQLite table and group commit, nothing
// else. It answers 200 only after the COMMIT that holds the event has returned, and with WAL
// and synchronous=FULL that COMMIT fsyncs the WAL
// (https://sqlite.org/pragma.html#pragma_synchronous). Any durable gateway pays at least this;
// Hookyard's distance from it is our own overhead, while the distance from (a) moves with the
// disk's fsync speed on the day.
import type { IncomingMessage } from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import { serveVerified } from '../../lib.ts';

const db = new DatabaseSync(process.env.BENCH_DB ?? ':memory:');
db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
db.exec(`CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, source TEXT NOT NULL,
  event_id TEXT NOT NULL, received_at INTEGER NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL,
  UNIQUE (source, event_id))`);
// A redelivery of a stored event is acknowledged again, not refused: ON CONFLICT DO NOTHING.
const insert = db.prepare(
  'INSERT INTO events (source, event_id, received_at, headers, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, event_id) DO NOTHING',
);

interface Pending {
  row: [string, string, number, string, Buffer];
  resolve: () => void;
  reject: (error: unknown) => void;
}

let queue: Pending[] = [];
let scheduled = false;
let commits = 0;
let events = 0;
let largest = 0;

// node:sqlite is synchronous, so while one COMMIT (and its fsync) runs, the requests that arrive
// wait in the kernel; the event loop reads them all once it returns, and setImmediate runs after
// that I/O phase. So each batch is what arrived during the previous commit — no timer, and a
// lone request is committed on the next turn of the loop.
function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  try {
    db.exec('BEGIN');
    for (const p of batch) insert.run(...p.row);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    for (const p of batch) p.reject(error);
    return;
  }
  commits++;
  events += batch.length;
  largest = Math.max(largest, batch.length);
  for (const p of batch) p.resolve();
}

function store(req: IncomingMessage, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    // The source is the path's last segment (/webhooks/gh), the event id GitHub's delivery id.
    const source = (req.url ?? '').slice((req.url ?? '').lastIndexOf('/') + 1);
    const row: Pending['row'] = [
      source,
      String(req.headers['x-github-delivery']),
      Date.now(),
      JSON.stringify(req.headers),
      body,
    ];
    queue.push({ row, resolve, reject });
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
}

process.once('SIGTERM', () => {
  process.stderr.write(
    `floor: ${events} events in ${commits} commits (mean batch ${(events / Math.max(commits, 1)).toFixed(1)}, largest ${largest})\n`,
  );
  // No db.close(): every acknowledged event is already committed, and closing would checkpoint
  // the WAL into the database file, slowing the harness down for nothing.
  process.exit(0);
});

serveVerified(store);
