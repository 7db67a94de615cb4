// The seed-style baseline: Express ingest committing one event and one job row per request
// (synchronous=FULL), and a worker that polls the jobs table every 100 ms — the shape a
// Celery/cron job queue gives — delivering up to 10 jobs at a time to the sink.
import { DatabaseSync } from 'node:sqlite';
import express from 'express';
import { githubSignatureValid } from '../../lib.ts';

const sink = process.env.BENCH_SINK ?? '';
const db = new DatabaseSync(process.env.BENCH_DB ?? ':memory:');
db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
db.exec(`CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, delivery TEXT UNIQUE, body BLOB);
  CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, event_id INTEGER, status TEXT DEFAULT 'pending');
  CREATE INDEX IF NOT EXISTS jobs_pending ON jobs (status, id);`);
const insertEvent = db.prepare(
  'INSERT INTO events (delivery, body) VALUES (?, ?) ON CONFLICT DO NOTHING',
);
const insertJob = db.prepare('INSERT INTO jobs (event_id) VALUES (?)');
const due = db.prepare(
  "SELECT jobs.id, events.delivery, events.body FROM jobs JOIN events ON events.id = jobs.event_id WHERE status = 'pending' ORDER BY jobs.id LIMIT 10",
);
const done = db.prepare("UPDATE jobs SET status = 'done' WHERE id = ?");

const app = express();
app.post('/webhooks/gh', express.raw({ type: '*/*', limit: '5mb' }), (req, res) => {
  const body = req.body as Buffer;
  if (!githubSignatureValid(body, req.headers['x-hub-signature-256'])) {
    res.status(401).end();
    return;
  }
  db.exec('BEGIN');
  const r = insertEvent.run(String(req.headers['x-github-delivery']), body);
  if (r.changes === 1) insertJob.run(r.lastInsertRowid);
  db.exec('COMMIT');
  res.json({ status: 'received' });
});

let busy = false;
setInterval(async () => {
  if (busy) return;
  busy = true;
  try {
    for (;;) {
      const jobs = due.all();
      if (jobs.length === 0) break;
      await Promise.all(
        jobs.map(async (j) => {
          const res = await fetch(sink, {
            method: 'POST',
            body: new Uint8Array(j.body as Uint8Array),
            headers: { 'content-type': 'application/json', 'idempotency-key': String(j.delivery) },
          });
          await res.arrayBuffer();
          if (res.ok) done.run(j.id as number);
        }),
      );
    }
  } finally {
    busy = false;
  }
}, 100);
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
