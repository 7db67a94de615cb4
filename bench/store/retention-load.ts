// Does pruning a month of old events get in the way of ingest and delivery on PostgreSQL?
// A fresh database is seeded with N old events (each with a delivered delivery and its attempt,
// received 40 days ago), then `hookyard serve` takes a routed open-loop load twice, side by
// side in one run: once with `retention: forever` (nothing to prune) and once with
// `retention: 30d`, which starts pruning the N old events 1 s after start. Per phase: ingest
// latency (p50, p99, max), deliveries meanwhile, sessions waiting on a lock (sampled every
// 50 ms from pg_stat_activity) and, with retention, the old events pruned per second. Each
// phase starts with 3 s of the same load, not measured.
//   node bench/store/retention-load.ts [--pg <admin url>] [--old 300000] [--rate 1500] [--seconds 30]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import {
  BODY,
  ensureBuilt,
  openLoop,
  PG_ADMIN_URL,
  ROOT,
  SECRET,
  stop,
  waitForPort,
  pgAdmin,
} from '../lib.ts';

const { values } = parseArgs({
  options: {
    pg: { type: 'string', default: PG_ADMIN_URL },
    old: { type: 'string', default: '300000' },
    rate: { type: 'string', default: '1500' },
    seconds: { type: 'string', default: '30' },
    json: { type: 'string' },
  },
});
const OLD = Number(values.old);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const DAY = 86_400_000;

ensureBuilt();
const admin = pgAdmin(values.pg);
const name = 'bench_retention_load';
const url = new URL(await admin.fresh(name));
const db = postgres(url.href, { max: 2, onnotice: () => undefined });
const dir = mkdtempSync(join(tmpdir(), 'bench-retention-'));

// The sink: answers 200 at once and counts.
let delivered = 0;
const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    delivered++;
    res.end('ok');
  });
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;

function serve(retention: string, port: number): ChildProcess {
  const config = join(dir, `hookyard-${retention}.yaml`);
  writeFileSync(
    config,
    `storage: ${url.href}\nretention: ${retention}\nserver: { port: ${port} }\nlog_level: warn\n` +
      `sources:\n  gh: { provider: github, secret: ${SECRET} }\n` +
      `destinations:\n  app: { url: "${sinkUrl}", concurrency: 100 }\n` +
      `routes:\n  - { source: gh, to: app }\n`,
  );
  return spawn(
    'taskset',
    ['-c', '0', process.execPath, join(ROOT, 'bin/hookyard.js'), 'serve', '--config', config],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

/** Samples every 50 ms until stopped: lock requests not granted (this database is the only
 * busy one), and what they wait for: `relation`/`tuple`/`transactionid` are table and row
 * locks; `object` in database 0 is PostgreSQL's commit-time lock on the NOTIFY queue. */
function lockSampler() {
  let samples = 0;
  let withWaiters = 0;
  let most = 0;
  const kinds: Record<string, number> = {};
  let running = true;
  const done = (async () => {
    while (running) {
      const rows = await db`
        SELECT locktype || CASE WHEN locktype = 'object' AND database = 0 THEN ' (notify)'
                                ELSE '' END AS kind, count(*)::int AS n
        FROM pg_locks WHERE NOT granted GROUP BY 1`;
      const n = rows.reduce((a, r) => a + Number(r.n), 0);
      for (const r of rows) kinds[r.kind as string] = (kinds[r.kind as string] ?? 0) + Number(r.n);
      samples++;
      if (n > 0) withWaiters++;
      most = Math.max(most, n);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return async () => {
    running = false;
    await done;
    return { samples, withWaiters, most, kinds };
  };
}

// Migrate, then seed: old events, each with one delivered delivery and one attempt.
const migrate = spawn(
  process.execPath,
  [join(ROOT, 'bin/hookyard.js'), 'migrate', '--storage', url.href],
  { stdio: 'ignore' },
);
await new Promise((r) => migrate.once('exit', r));
const seeded = performance.now();
const oldAt = Date.now() - 40 * DAY;
await db`
  INSERT INTO events (id, source, event_id, type, received_at, headers, content_type, body)
  SELECT 'old_' || g, 'gh', 'old-' || g, 'issues', ${oldAt}::bigint + g, '[]', 'application/json',
         ${Buffer.from(BODY)}
  FROM generate_series(1, ${OLD}) g`;
await db`
  INSERT INTO deliveries (id, event_seq, destination, status, attempts, next_at, updated_at)
  SELECT 'dold_' || seq, seq, 'app', 'delivered', 1, received_at, received_at FROM events`;
await db`
  INSERT INTO attempts (delivery_seq, n, started_at, duration_ms, status_code, outcome)
  SELECT seq, 1, next_at, 3, 200, 'delivered' FROM deliveries`;
await db`VACUUM ANALYZE`;
const [size] = await db`SELECT pg_database_size(current_database())::float8 AS b`;
console.log(
  `bench/store/retention-load: ${OLD} old events seeded in ${((performance.now() - seeded) / 1000).toFixed(0)} s (database ${(Number(size?.b) / 2 ** 20).toFixed(0)} MiB); open loop ${RATE}/s for ${SECONDS} s per phase, node ${process.version}`,
);

const oldLeft = async () => {
  const [row] =
    await db`SELECT count(*)::int AS n FROM events WHERE received_at < ${Date.now() - 30 * DAY}`;
  return Number(row?.n);
};

interface Phase {
  accepted: number;
  failed: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  delivered_per_s: number;
  pruned: number;
  pruned_per_s: number;
  old_left: number;
  lock_wait_samples: number;
  samples: number;
  most_waiting: number;
  /** Waiting lock requests summed over the samples, by kind. */
  waiting_by_kind: Record<string, number>;
}
const results: Record<string, Phase> = {};
let port = 19_000 + Math.floor(Math.random() * 1000);
try {
  for (const retention of ['forever', '30d']) {
    const p = ++port;
    const gateway = serve(retention, p);
    try {
      await waitForPort(p);
      await openLoop(`http://127.0.0.1:${p}`, RATE, 3); // warm-up (with retention, pruning has begun meanwhile)
      const left0 = await oldLeft();
      const deliveredBefore = delivered;
      const sampling = lockSampler();
      const t0 = performance.now();
      const load = await openLoop(`http://127.0.0.1:${p}`, RATE, SECONDS);
      const seconds = (performance.now() - t0) / 1000;
      const locks = await sampling();
      const left1 = await oldLeft();
      const r: Phase = {
        accepted: load.accepted,
        failed: load.failed,
        p50_ms: load.p50,
        p99_ms: load.p99,
        max_ms: load.max,
        delivered_per_s: (delivered - deliveredBefore) / seconds,
        pruned: left0 - left1,
        pruned_per_s: (left0 - left1) / seconds,
        old_left: left1,
        lock_wait_samples: locks.withWaiters,
        samples: locks.samples,
        most_waiting: locks.most,
        waiting_by_kind: locks.kinds,
      };
      results[retention] = r;
      console.log(
        `retention ${retention.padEnd(7)} ingest p50 ${r.p50_ms.toFixed(1)} ms p99 ${r.p99_ms.toFixed(1)} ms max ${r.max_ms.toFixed(0)} ms, ` +
          `accepted ${r.accepted} failed ${r.failed}, delivered ${r.delivered_per_s.toFixed(0)}/s; ` +
          `pruned ${r.pruned} (${r.pruned_per_s.toFixed(0)}/s, ${r.old_left} old left); ` +
          `lock waits in ${r.lock_wait_samples} of ${r.samples} samples (most ${r.most_waiting} at once; by kind ${JSON.stringify(r.waiting_by_kind)})`,
      );
    } finally {
      await stop(gateway);
    }
  }
} finally {
  sink.close();
  await db.end();
  await admin.drop(name);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
const [off, on] = [results.forever, results['30d']];
if (off && on) {
  console.log(
    `\nwhile pruning: ingest p99 ×${(on.p99_ms / off.p99_ms).toFixed(2)} (${off.p99_ms.toFixed(1)} → ${on.p99_ms.toFixed(1)} ms), ` +
      `deliveries ×${(on.delivered_per_s / off.delivered_per_s).toFixed(2)}, ${on.pruned_per_s.toFixed(0)} old events pruned per second`,
  );
}
if (values.json)
  writeFileSync(
    values.json,
    `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`,
  );
