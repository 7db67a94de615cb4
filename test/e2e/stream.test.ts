// GET /api/stream over real HTTP: each stored event once, live; Last-Event-ID resumes with no
// gap and no repeat, also across a restart; delivery outcomes on the same stream; and on one
// PostgreSQL with two gateway processes, 10,000 events read by a reader that disconnects and
// resumes at random points (on either process, once across a restart): every event exactly
// once, in cursor order.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { compareCursors } from '../../src/api/stream.ts';
import { createTestDatabase, POSTGRES_SKIP, type TestDatabase } from '../helpers/postgres.ts';
import { type ServerProcess, startServerProcess } from '../helpers/process.ts';
import { stripeHeaders } from '../helpers/sign.ts';
import { startSink } from '../helpers/sink.ts';
import { openStream, type SseConnection } from '../helpers/sse.ts';

const SECRET = 'whsec_stream';
const TOKEN = 'stream-token';
const dir = mkdtempSync(join(tmpdir(), 'hookyard-stream-'));
let db: TestDatabase | undefined;
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

function config(name: string, storage: string, extra = ''): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `storage: ${storage}\nserver: { port: 0 }\napi: { token: ${TOKEN} }\n` +
      `sources:\n  stripe: { provider: stripe, secret: ${SECRET} }\n${extra}`,
  );
  return path;
}

async function send(base: string, id = `evt_${randomUUID()}`): Promise<string> {
  const body = JSON.stringify({ id, type: 'payment_intent.succeeded', data: { object: {} } });
  const res = await fetch(`${base}/webhooks/stripe`, {
    method: 'POST',
    body,
    headers: stripeHeaders(body, SECRET),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { id: string }).id;
}

/** Delivery outcomes read while waiting for events (they interleave). */
const outcomes: { event: string; status: string }[] = [];

/** The next `event: event` messages, `n` of them. */
async function events(conn: SseConnection, n: number): Promise<{ id: string; cursor: string }[]> {
  const out: { id: string; cursor: string }[] = [];
  while (out.length < n) {
    const m = await conn.next();
    if (!m) throw new Error('the stream ended');
    if (m.event === 'event') out.push({ id: JSON.parse(m.data).id, cursor: m.id as string });
    if (m.event === 'delivery') outcomes.push(JSON.parse(m.data));
  }
  return out;
}

describe('the stream on SQLite', () => {
  test('live, resumed with Last-Event-ID, across a restart, with delivery outcomes', async () => {
    const sink = await startSink();
    const path = config(
      'sqlite',
      `sqlite:${join(dir, 'h.db')}`,
      `destinations:\n  app: { url: "${sink.url}/hooks", backoff_base: 100ms }\nroutes:\n  - { source: stripe, to: app }\n`,
    );
    let server = await startServerProcess(['serve', '--config', path]);
    try {
      const conn = await openStream(`${server.url}/api/stream`, TOKEN);
      assert.equal(conn.status, 200);
      const sent = [await send(server.url), await send(server.url), await send(server.url)];
      const got = await events(conn, 3);
      assert.deepEqual(
        got.map((e) => e.id),
        sent,
      );
      // The delivery outcome follows on the same stream.
      while (!outcomes.some((d) => d.event === sent[0] && d.status === 'delivered')) {
        const m = await conn.next();
        if (m?.event === 'delivery') outcomes.push(JSON.parse(m.data));
      }
      conn.close();

      // Missed while disconnected, then resumed after the last one seen.
      const missed = [await send(server.url), await send(server.url)];
      const resumed = await openStream(`${server.url}/api/stream`, TOKEN, got[2]?.cursor);
      assert.deepEqual(
        (await events(resumed, 2)).map((e) => e.id),
        missed,
      );
      resumed.close();

      // Across a restart: the cursor is the store's, not the process's.
      await server.stop();
      server = await startServerProcess(['serve', '--config', path]);
      const after = await send(server.url);
      const again = await openStream(`${server.url}/api/stream`, TOKEN, got[2]?.cursor);
      assert.deepEqual(
        (await events(again, 3)).map((e) => e.id),
        [...missed, after],
      );
      again.close();

      // A malformed cursor is a 400; no token is a 401.
      const bad = await fetch(`${server.url}/api/stream`, {
        headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': 'nope' },
      });
      assert.equal(bad.status, 400);
      await bad.body?.cancel();
      const anon = await fetch(`${server.url}/api/stream`);
      assert.equal(anon.status, 401);
      await anon.body?.cancel();
    } finally {
      await server.stop();
      await sink.close();
    }
  });
});

describe('the stream on PostgreSQL, two processes', { skip: POSTGRES_SKIP }, () => {
  test('10,000 events, a reader that resumes at random points and across a restart: each once, in order', async () => {
    db = await createTestDatabase('hookyard_stream');
    const path = config('pg', db.url);
    const procs: ServerProcess[] = await Promise.all(
      [0, 1].map(() => startServerProcess(['serve', '--config', path])),
    );
    const TOTAL = 10_000;
    const acknowledged = new Set<string>();
    const seen: { id: string; cursor: string }[] = [];
    let restarted = false;
    try {
      // The reader: connects to one process or the other, reads a random number of events,
      // drops the connection, and resumes after the last cursor it saw.
      let reading = true;
      let reconnects = 0;
      let started!: () => void;
      const open = new Promise<void>((r) => (started = r));
      const reader = (async () => {
        let cursor: string | undefined;
        while (reading || seen.length < acknowledged.size) {
          const proc = procs[reconnects % 2] as ServerProcess;
          reconnects++;
          let conn: SseConnection;
          try {
            conn = await openStream(`${proc.url}/api/stream`, TOKEN, cursor);
          } catch {
            await new Promise((r) => setTimeout(r, 100)); // that process is restarting
            continue;
          }
          if (cursor === undefined) {
            // The first connection starts at "now": it must be open before any event is sent.
            started();
          }
          const take = 1 + Math.floor(Math.random() * 1500);
          try {
            for (let i = 0; i < take; i++) {
              const m = await conn.next(3000);
              if (!m) break;
              if (m.event !== 'event') continue;
              seen.push({ id: JSON.parse(m.data).id, cursor: m.id as string });
              cursor = m.id;
            }
          } catch {
            // no message in time (all caught up) or the process went away: reconnect
          }
          conn.close();
          if (!reading && seen.length >= acknowledged.size) break;
        }
        return reconnects;
      })();
      await open;

      // The writers: 16 at a time, alternating between the processes; one restart midway.
      let next = 0;
      const writer = async () => {
        while (next < TOTAL) {
          const n = next++;
          if (n === TOTAL / 2 && !restarted) {
            restarted = true;
            const old = procs[0] as ServerProcess;
            await old.stop();
            procs[0] = await startServerProcess(['serve', '--config', path]);
          }
          const proc = procs[n % 2] as ServerProcess;
          try {
            acknowledged.add(await send(proc.url));
          } catch {
            next--; // refused while restarting: a sender retries
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, writer));
      reading = false;
      const deadline = Date.now() + 60_000;
      while (seen.length < acknowledged.size && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const connections = await Promise.race([
        reader,
        new Promise<number>((r) => setTimeout(() => r(-1), 10_000)),
      ]);

      const ids = seen.map((s) => s.id);
      const unique = new Set(ids);
      console.log(
        `  ${acknowledged.size} acknowledged, ${seen.length} streamed (${unique.size} distinct), ${connections} connections`,
      );
      assert.equal(unique.size, ids.length, 'no event twice');
      assert.equal(acknowledged.size, TOTAL);
      for (const id of acknowledged) assert.ok(unique.has(id), `never streamed: ${id}`);
      for (let i = 1; i < seen.length; i++) {
        assert.ok(
          compareCursors(
            (seen[i - 1] as { cursor: string }).cursor,
            (seen[i] as { cursor: string }).cursor,
          ) < 0,
          'in cursor order',
        );
      }
      assert.ok(restarted);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  });
});
