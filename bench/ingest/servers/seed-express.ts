// (b) The seed design: Express, raw-body HMAC, and one SQLite INSERT committed per request
// with synchronous=FULL (node:sqlite, WAL) — durable, one fsync per event.
import { DatabaseSync } from 'node:sqlite';
import express from 'express';
import { githubSignatureValid } from '../../lib.ts';

const db = new DatabaseSync(process.env.BENCH_DB ?? ':memory:');
db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
db.exec(`CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, delivery TEXT UNIQUE,
  event TEXT, headers TEXT, body BLOB, received_at INTEGER)`);
const insert = db.prepare(
  'INSERT INTO events (delivery, event, headers, body, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (delivery) DO NOTHING',
);

const app = express();
app.post('/webhooks/gh', express.raw({ type: '*/*', limit: '5mb' }), (req, res) => {
  const body = req.body as Buffer;
  if (!githubSignatureValid(body, req.headers['x-hub-signature-256'])) {
    res.status(401).end();
    return;
  }
  JSON.parse(body.toString());
  insert.run(
    String(req.headers['x-github-delivery']),
    String(req.headers['x-github-event']),
    JSON.stringify(req.headers),
    body,
    Date.now(),
  );
  res.json({ status: 'received' });
});
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
