// The PostgreSQL baseline the issue sets: bare node:http (no framework cost), the HMAC check,
// and one `INSERT … ON CONFLICT DO NOTHING` committed per request through `pg` with a pool of
// 10. PostgreSQL itself merges concurrent commits (several backends' commits share a WAL
// flush), so this is already a strong design.
import pg from 'pg';
import { serveVerified } from '../../lib.ts';

const pool = new pg.Pool({ connectionString: process.env.BENCH_PG, max: 10 });
await pool.query(`CREATE TABLE IF NOT EXISTS events (id bigserial PRIMARY KEY, delivery text UNIQUE,
  event text, headers text, body bytea, received_at bigint)`);

serveVerified((req, body) =>
  pool.query(
    'INSERT INTO events (delivery, event, headers, body, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery) DO NOTHING',
    [
      String(req.headers['x-github-delivery']),
      String(req.headers['x-github-event']),
      JSON.stringify(req.headers),
      body,
      Date.now(),
    ],
  ),
);
