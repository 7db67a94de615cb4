// The PostgreSQL baseline the issue sets: bare node:http (no framework cost), the HMAC check,
// and one `INSERT … ON CONFLICT DO NOTHING` committed per request through `pg` with a pool of
// 10. PostgreSQL itself merges concurrent commits (commit_delay aside, several backends'
// commits share a WAL flush), so this is already a strong design.
import { createServer } from 'node:http';
import pg from 'pg';
import { githubSignatureValid } from '../../lib.ts';

const pool = new pg.Pool({ connectionString: process.env.BENCH_PG, max: 10 });
await pool.query(`CREATE TABLE IF NOT EXISTS events (id bigserial PRIMARY KEY, delivery text UNIQUE,
  event text, headers text, body bytea, received_at bigint)`);

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (!githubSignatureValid(body, req.headers['x-hub-signature-256'])) {
      res.writeHead(401).end();
      return;
    }
    JSON.parse(body.toString());
    pool
      .query(
        'INSERT INTO events (delivery, event, headers, body, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery) DO NOTHING',
        [
          String(req.headers['x-github-delivery']),
          String(req.headers['x-github-event']),
          JSON.stringify(req.headers),
          body,
          Date.now(),
        ],
      )
      .then(
        () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"status":"received"}');
        },
        () => {
          res.writeHead(503).end();
        },
      );
  });
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
