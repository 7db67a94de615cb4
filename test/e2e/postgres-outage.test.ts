// PostgreSQL goes down (an immediate stop: a crash, no clean shutdown) while a gateway takes
// load and delivers, then comes back. During the outage ingest answers 503 + Retry-After
// (never a false 200) and /readyz fails; afterwards the same process recovers on its own, and
// every event it acknowledged, before, during or after, is stored and delivered.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import postgres from 'postgres';
import { POSTGRES_SKIP, type PrivatePostgres, startPrivatePostgres } from '../helpers/postgres.ts';
import { startServerProcess } from '../helpers/process.ts';
import { githubHeaders } from '../helpers/sign.ts';
import { startSink } from '../helpers/sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'hookyard-outage-'));
let pg: PrivatePostgres | undefined;
after(async () => {
  await pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  'PostgreSQL down under load: 503s and a failing /readyz, then recovery without a restart',
  { skip: POSTGRES_SKIP },
  async (t) => {
    pg = await startPrivatePostgres();
    const url = await pg.database('outage');
    const sink = await startSink();
    const config = join(dir, 'hookyard.yaml');
    writeFileSync(
      config,
      `storage: ${url}\nserver: { port: 0 }\npostgres: { connect_timeout: 2s }\n` +
        `sources:\n  gh: { provider: github, secret: s3cret }\n` +
        `destinations:\n  app: { url: "${sink.url}/hooks", concurrency: 5, timeout: 2s, backoff_base: 100ms }\n` +
        `routes:\n  - { source: gh, to: app }\n`,
    );
    const gateway = await startServerProcess(['serve', '--config', config]);
    try {
      const acknowledged = new Set<string>();
      const statuses = new Map<number, number>();
      let phase: 'before' | 'down' | 'after' = 'before';
      const byPhase = { before: 0, down: 0, after: 0 };
      const refusals: { status: number; retryAfter: string | null; code: string }[] = [];
      let stop = false;
      const body = JSON.stringify({ action: 'opened', issue: { number: 1 } });
      const client = async () => {
        while (!stop) {
          const res = await fetch(`${gateway.url}/webhooks/gh`, {
            method: 'POST',
            body,
            headers: await githubHeaders(body, 's3cret', 'issues', randomUUID()),
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const json = (await res.json()) as { id?: string; error?: { code: string } };
          if (res.status === 200) {
            acknowledged.add(json.id as string);
            byPhase[phase]++;
          } else {
            refusals.push({
              status: res.status,
              retryAfter: res.headers.get('retry-after'),
              code: json.error?.code ?? '',
            });
            await sleep(20);
          }
        }
      };
      const ready = async () => (await fetch(`${gateway.url}/readyz`)).status;
      const load = Promise.all(Array.from({ length: 8 }, client));

      await sink.waitFor(200, 20_000);
      await pg.stop('immediate');
      phase = 'down';
      const refusedBefore = refusals.length;
      await sleep(3000);
      assert.ok(refusals.length > refusedBefore, 'requests during the outage were refused');
      assert.equal(await ready(), 503, '/readyz fails while the database is down');
      const deliveredDuringOutage = sink.received.length;

      await pg.start();
      const restartedAt = Date.now();
      phase = 'after';
      const deadline = Date.now() + 20_000;
      while ((byPhase.after < 200 || (await ready()) !== 200) && Date.now() < deadline) {
        await sleep(100);
      }
      const recoveredMs = Date.now() - restartedAt;
      stop = true;
      await load;
      t.diagnostic(
        `statuses ${JSON.stringify(Object.fromEntries(statuses))}, acknowledged before ` +
          `${byPhase.before} / while stopping ${byPhase.down} / after ${byPhase.after}; ` +
          `200 events and a ready /readyz ${recoveredMs} ms after the restart`,
      );
      assert.ok(byPhase.after >= 200, 'ingest recovered without a restart');
      assert.equal(await ready(), 200, '/readyz recovered');
      assert.deepEqual(
        [...statuses.keys()].sort(),
        [200, 503],
        'only stored (200) or refused with 503',
      );
      for (const r of refusals) {
        assert.equal(r.code, 'storage_unavailable');
        assert.ok(Number(r.retryAfter) > 0, 'a 503 says when to come back');
      }

      // Every acknowledged event survived the crash and is delivered.
      const sql = postgres(url, { max: 1 });
      const stored = new Set((await sql`SELECT id FROM events`).map((r) => r.id as string));
      await sql.end();
      const lost = [...acknowledged].filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], `${lost.length} acknowledged events lost`);
      const end = Date.now() + 30_000;
      const undelivered = () => {
        const got = new Set(sink.received.map((r) => String(r.headers['idempotency-key'])));
        return [...acknowledged].filter((id) => !got.has(id));
      };
      while (undelivered().length > 0 && Date.now() < end) await sleep(100);
      assert.deepEqual(undelivered(), [], 'every acknowledged event delivered');
      assert.ok(sink.received.length > deliveredDuringOutage, 'delivery resumed');
    } finally {
      await gateway.stop();
      await sink.close();
    }
  },
);
