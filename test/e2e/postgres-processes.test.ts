// Three `hookyard serve` processes on one PostgreSQL database share ingest and delivery:
// 20,000 routed events spread across them, one process killed with -9 midway. Every
// acknowledged event is delivered; a delivery arrives twice only if the killed process had it
// in flight (its first copy arrived before the kill), never because two live processes both
// held a lease on it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import postgres from 'postgres';
import { createTestDatabase, POSTGRES_SKIP, type TestDatabase } from '../helpers/postgres.ts';
import { type ServerProcess, startServerProcess } from '../helpers/process.ts';
import { githubHeaders } from '../helpers/sign.ts';
import { startSink } from '../helpers/sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'hookyard-pg3-'));
let db: TestDatabase | undefined;
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

const EVENTS = 20_000;
const CONCURRENCY = 10;

test(
  'three processes on one database, one killed with -9: every acknowledged event delivered',
  { skip: POSTGRES_SKIP },
  async (t) => {
    db = await createTestDatabase('hookyard_procs');
    const sink = await startSink();
    sink.respond = () => ({ status: 200, delayMs: 2 });
    const config = join(dir, 'hookyard.yaml');
    writeFileSync(
      config,
      `storage: ${db.url}\nserver: { port: 0 }\n` +
        `sources:\n  gh: { provider: github, secret: s3cret }\n` +
        `destinations:\n  app: { url: "${sink.url}/hooks", concurrency: ${CONCURRENCY}, timeout: 2s, backoff_base: 100ms }\n` +
        `routes:\n  - { source: gh, to: app }\n`,
    );
    // Started together: their migrations race for the advisory lock.
    const procs: ServerProcess[] = await Promise.all(
      [0, 1, 2].map(() => startServerProcess(['serve', '--config', config])),
    );
    try {
      const acknowledged = new Set<string>();
      const statuses = new Map<number, number>();
      let sent = 0;
      let killedAt = Number.POSITIVE_INFINITY;
      const body = JSON.stringify({ action: 'opened', issue: { number: 1 } });
      const client = async (w: number) => {
        for (let i = w; ; i += 32) {
          if (sent >= EVENTS) return;
          sent++;
          const proc = procs[i % 3] as ServerProcess;
          if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
            sent--; // a load balancer would route around the dead process
            continue;
          }
          try {
            const res = await fetch(`${proc.url}/webhooks/gh`, {
              method: 'POST',
              body,
              headers: await githubHeaders(body, 's3cret', 'issues', randomUUID()),
            });
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status === 200) acknowledged.add(((await res.json()) as { id: string }).id);
          } catch {
            // cut by the kill: never acknowledged
          }
        }
      };
      const load = Promise.all(Array.from({ length: 32 }, (_, w) => client(w)));
      // Midway: process 0 dies with deliveries in flight.
      await sink.waitFor(EVENTS / 3, 120_000);
      procs[0]?.child.kill('SIGKILL');
      killedAt = Date.now();
      await load;
      t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(statuses))}`);

      const delivered = () =>
        new Set(sink.received.map((r) => String(r.headers['idempotency-key'])));
      // The killed process's leases expire (timeout 2 s + 5 s) and a live process takes them.
      const deadline = Date.now() + 90_000;
      const undelivered = () => {
        const got = delivered(); // once per check: the sink shares this event loop
        return [...acknowledged].some((id) => !got.has(id));
      };
      while (undelivered() && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const got = delivered();
      const sql = postgres(db.url, { max: 1 });
      const states = await sql`SELECT status, lease_until IS NOT NULL AS leased, count(*)::int AS n
                               FROM deliveries GROUP BY 1, 2 ORDER BY 1, 2`;
      await sql.end();
      t.diagnostic(
        `deliveries by state ${JSON.stringify(states)}; sink got ${sink.received.length}`,
      );
      for (const p of procs.slice(1)) {
        const errors = p
          .output()
          .split('\n')
          .filter((l) => l.includes('"level":50'));
        if (errors.length) t.diagnostic(`${errors.length} errors logged, first: ${errors[0]}`);
      }
      const missing = [...acknowledged].filter((id) => !got.has(id));
      assert.deepEqual(
        missing.length,
        0,
        `${missing.length} of ${acknowledged.size} acknowledged events never delivered`,
      );
      assert.ok(acknowledged.size >= EVENTS * 0.95, `only ${acknowledged.size} acknowledged`);
      // Every duplicate's first copy reached the sink before the kill: it was the killed
      // process's attempt in flight. At most its concurrency of them.
      const first = new Map<string, number>();
      const lateDuplicates: string[] = [];
      let duplicates = 0;
      for (const r of sink.received) {
        const key = String(r.headers['idempotency-key']);
        const at = first.get(key);
        if (at === undefined) first.set(key, r.at);
        else {
          duplicates++;
          // (a little slack: the sink may read a request that arrived before the kill after it)
          if (at > killedAt + 500) lateDuplicates.push(key);
        }
      }
      t.diagnostic(
        `acknowledged ${acknowledged.size}, deliveries ${sink.received.length}, ` +
          `duplicates ${duplicates} (all from the killed process's in-flight attempts)`,
      );
      assert.deepEqual(lateDuplicates, [], 'two live leases delivered the same event');
      assert.ok(duplicates <= CONCURRENCY, `${duplicates} duplicates`);
      // The load really was shared: every process delivered some (by its connections' ports).
      assert.ok(sink.maxConcurrent > CONCURRENCY, 'more than one process delivered at once');
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
      await sink.close();
    }
  },
);
