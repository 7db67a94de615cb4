// bench/ingest on PostgreSQL: the seed-style baseline (one INSERT committed per request, `pg`
// pool 10), Hookyard with one process, and Hookyard with two processes on the same database,
// side by side in one run, rounds interleaved.
//   node bench/ingest/postgres.ts [--pg postgres://…/postgres] [--duration 10] [--rounds 3]
// A gateway is pinned to core 0 (a second one to core 1, as if on a machine of its own) and
// the load to core 1; PostgreSQL runs where the kernel puts it.
// With 2 cores, two processes cannot show more total throughput, so scaling is reported as
// cost: events per CPU-second of the gateway processes (from /proc/<pid>/stat) at the same
// offered load (--rate, open loop, split across the processes), besides the saturated wrk
// run; plus the database's WAL bytes and table bytes per event. See bench/README.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import {
  BODY,
  ensureBuilt,
  median,
  openLoop,
  PG_ADMIN_URL,
  ROOT,
  SECRET,
  stop,
  waitForPort,
  wrk,
  pgAdmin,
} from '../lib.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({
  options: {
    pg: { type: 'string', default: PG_ADMIN_URL },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    rate: { type: 'string', default: '3000' },
    json: { type: 'string' },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
const WARMUP = Number(values.warmup);
const RATE = Number(values.rate);
const admin = pgAdmin(values.pg);

interface Target {
  key: string;
  name: string;
  processes: number;
  /** argv and env of process i. */
  start(i: number, port: number, dbUrl: string, dir: string): { argv: string[]; env?: object };
  table: string;
}

const TARGETS: Target[] = [
  {
    key: 'seed-pg',
    name: '(b) seed-style: node:http, INSERT committed per request, pg pool 10',
    processes: 1,
    start: (_i, _port, dbUrl) => ({
      argv: [join(HERE, 'servers/seed-pg.ts')],
      env: { BENCH_PG: dbUrl },
    }),
    table: 'events',
  },
  ...[
    { processes: 1, linger: '0ms' },
    { processes: 2, linger: '0ms' },
    { processes: 1, linger: '2ms' },
  ].map(({ processes, linger }): Target => ({
    key: `hookyard-pg-${processes}${linger === '0ms' ? '' : '-linger'}`,
    name: `(c) hookyard serve on PostgreSQL, ${processes} process${processes > 1 ? 'es' : ''}${linger === '0ms' ? '' : `, batch_linger: ${linger}`}`,
    processes,
    start: (i, port, dbUrl, dir) => {
      const config = join(dir, `hookyard-${i}.yaml`);
      writeFileSync(
        config,
        `storage: ${dbUrl}\npostgres: { batch_linger: ${linger} }\nserver: { port: ${port} }\n` +
          `log_level: warn\nsources:\n  gh: { provider: github, secret: ${SECRET} }\n`,
      );
      return { argv: [join(ROOT, 'bin/hookyard.js'), 'serve', '--config', config] };
    },
    table: 'events',
  })),
];

/** user + system CPU seconds of a process so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in ticks (USER_HZ 100)
}

/** An open loop on core 1 (bench/lib.ts); failures are reported. */
async function openLoopOf(url: string, rate: number, seconds: number) {
  const result = await openLoop(url, rate, seconds);
  if (result.failed > 0) console.log(`  open loop: ${result.failed} requests failed`);
  return result;
}

interface Result {
  /** Events per gateway CPU-second at the fixed offered load. */
  fixedEventsPerCpuS: number;
  /** The same at half that load. */
  halfEventsPerCpuS: number;
  /** Latency at the fixed load (the worse process's) and at half of it. */
  fixedP50: number;
  fixedP99: number;
  halfP50: number;
  halfP99: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  eventsPerCpuS: number;
  walBytesPerEvent: number;
  dbBytesPerEvent: number;
}

ensureBuilt();
console.log(
  `bench/ingest postgres: ${ROUNDS} rounds × ${DURATION}s, wrk -c${CONNECTIONS} (split across processes), body ${BODY.length} B, node ${process.version}`,
);
const results = new Map<string, Result[]>(TARGETS.map((t) => [t.key, []]));
let port = 19_000 + Math.floor(Math.random() * 1000);
for (let round = 0; round < ROUNDS; round++) {
  const order = [
    ...TARGETS.slice(round % TARGETS.length),
    ...TARGETS.slice(0, round % TARGETS.length),
  ];
  for (const target of order) {
    const name = `bench_${target.key.replace(/-/g, '_')}_${round}`;
    const dbUrl = new URL(await admin.fresh(name));
    const dir = mkdtempSync(join(tmpdir(), `bench-${target.key}-`));
    const children: ChildProcess[] = [];
    const ports: number[] = [];
    try {
      for (let i = 0; i < target.processes; i++) {
        const p = ++port;
        ports.push(p);
        const { argv, env } = target.start(i, p, dbUrl.href, dir);
        children.push(
          // one core each, as on separate machines; the load shares core 1 either way
          spawn('taskset', ['-c', String(i % 2), process.execPath, ...argv], {
            env: { ...process.env, PORT: String(p), ...env },
            stdio: ['ignore', 'ignore', 'inherit'],
          }),
        );
      }
      for (const p of ports) await waitForPort(p);
      const per = Math.max(1, Math.round(CONNECTIONS / ports.length));
      const urls = ports.map((p) => `http://127.0.0.1:${p}/webhooks/gh`);
      if (WARMUP > 0) await Promise.all(urls.map((u) => wrk(u, WARMUP, per)));
      const db = postgres(dbUrl.href, { max: 1, onnotice: () => undefined });
      const [before] =
        await db`SELECT pg_current_wal_lsn() AS lsn, count(*)::int AS n FROM ${db(target.table)}`;
      const cpu0 = children.map((c) => cpuSeconds(c.pid as number));
      const runs = await Promise.all(urls.map((u) => wrk(u, DURATION, per)));
      const cpu = children.reduce((a, c, i) => a + cpuSeconds(c.pid as number) - (cpu0[i] ?? 0), 0);
      const [after] = await db`
        SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${before?.lsn}::pg_lsn)::float8 AS wal,
               count(*)::int AS n, pg_database_size(current_database())::float8 AS size
        FROM ${db(target.table)}`;
      await db.end();
      // The same offered load for every target: cost per event without saturation.
      const cpu1 = children.map((c) => cpuSeconds(c.pid as number));
      const fixedRuns = await Promise.all(
        urls.map((u) => openLoopOf(new URL(u).origin, RATE / urls.length, DURATION)),
      );
      const fixed = fixedRuns.reduce((a, b) => a + b.accepted, 0);
      const fixedCpu = children.reduce(
        (a, c, i) => a + cpuSeconds(c.pid as number) - (cpu1[i] ?? 0),
        0,
      );
      // Half the load: for one process, the same load per process as two processes get above.
      const cpu2 = children.map((c) => cpuSeconds(c.pid as number));
      const halfRuns = await Promise.all(
        urls.map((u) => openLoopOf(new URL(u).origin, RATE / 2 / urls.length, DURATION)),
      );
      const half = halfRuns.reduce((a, b) => a + b.accepted, 0);
      const halfCpu = children.reduce(
        (a, c, i) => a + cpuSeconds(c.pid as number) - (cpu2[i] ?? 0),
        0,
      );
      for (const c of children) await stop(c);
      const acked = runs.reduce((a, r) => a + r.requests - r.non2xx, 0);
      const stored = Number(after?.n) - Number(before?.n);
      const r: Result = {
        rps: runs.reduce((a, x) => a + x.rps, 0),
        // several wrk runs: the worst of their percentiles
        p50: Math.max(...runs.map((x) => x.p50)),
        p99: Math.max(...runs.map((x) => x.p99)),
        non2xx: runs.reduce((a, x) => a + x.non2xx + x.socketErrors, 0),
        eventsPerCpuS: acked / cpu,
        fixedEventsPerCpuS: fixed / fixedCpu,
        halfEventsPerCpuS: half / halfCpu,
        fixedP50: Math.max(...fixedRuns.map((x) => x.p50)),
        fixedP99: Math.max(...fixedRuns.map((x) => x.p99)),
        halfP50: Math.max(...halfRuns.map((x) => x.p50)),
        halfP99: Math.max(...halfRuns.map((x) => x.p99)),
        walBytesPerEvent: Number(after?.wal) / stored,
        dbBytesPerEvent: Number(after?.size) / Number(after?.n),
      };
      results.get(target.key)?.push(r);
      console.log(
        `round ${round + 1}  ${target.key.padEnd(13)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  non-2xx ${r.non2xx}  ${r.eventsPerCpuS.toFixed(0)} events/CPU-s (${r.fixedEventsPerCpuS.toFixed(0)} at ${RATE}/s with p50/p99 ${r.fixedP50.toFixed(1)}/${r.fixedP99.toFixed(1)} ms, ${r.halfEventsPerCpuS.toFixed(0)} at ${RATE / 2}/s with ${r.halfP50.toFixed(1)}/${r.halfP99.toFixed(1)} ms)  WAL ${r.walBytesPerEvent.toFixed(0)} B/event  db ${r.dbBytesPerEvent.toFixed(0)} B/event  ${stored >= acked ? `stored ${stored} ≥ acked ${acked}` : `LOST: stored ${stored} < acked ${acked}`}`,
      );
    } finally {
      for (const c of children) await stop(c);
      rmSync(dir, { recursive: true, force: true });
      await admin.drop(name);
    }
  }
}
await admin.end();

const summary = Object.fromEntries(
  TARGETS.map((t) => {
    const rs = results.get(t.key) ?? [];
    const med = (f: (r: Result) => number) => median(rs.map(f));
    return [
      t.key,
      {
        name: t.name,
        rps: med((r) => r.rps),
        p50: med((r) => r.p50),
        p99: med((r) => r.p99),
        non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
        eventsPerCpuS: med((r) => r.eventsPerCpuS),
        fixedEventsPerCpuS: med((r) => r.fixedEventsPerCpuS),
        halfEventsPerCpuS: med((r) => r.halfEventsPerCpuS),
        fixedP50: med((r) => r.fixedP50),
        fixedP99: med((r) => r.fixedP99),
        halfP50: med((r) => r.halfP50),
        halfP99: med((r) => r.halfP99),
        walBytesPerEvent: med((r) => r.walBytesPerEvent),
        dbBytesPerEvent: med((r) => r.dbBytesPerEvent),
      },
    ];
  }),
) as Record<string, Result & { name: string }>;

console.log('\nmedians:');
console.log(
  `| receiver | req/s | p50 ms | p99 ms | non-2xx | events / CPU-s, saturated | events / CPU-s at ${RATE}/s (p50/p99 ms) | at ${RATE / 2}/s (p50/p99 ms) | WAL B/event | db B/event |`,
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const s of Object.values(summary)) {
  console.log(
    `| ${s.name} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.non2xx} | ${s.eventsPerCpuS.toFixed(0)} | ${s.fixedEventsPerCpuS.toFixed(0)} (${s.fixedP50.toFixed(1)}/${s.fixedP99.toFixed(1)}) | ${s.halfEventsPerCpuS.toFixed(0)} (${s.halfP50.toFixed(1)}/${s.halfP99.toFixed(1)}) | ${s.walBytesPerEvent.toFixed(0)} | ${s.dbBytesPerEvent.toFixed(0)} |`,
  );
}
const seed = summary['seed-pg'];
const one = summary['hookyard-pg-1'];
const two = summary['hookyard-pg-2'];
if (seed && one && two) {
  const vsSeed = one.rps / seed.rps;
  const cost = two.fixedEventsPerCpuS / one.fixedEventsPerCpuS;
  const saturated = two.eventsPerCpuS / one.eventsPerCpuS;
  console.log(
    `\nhookyard (1 process) / seed-style = ${vsSeed.toFixed(2)}×  (target ≥ 1.5×) ${vsSeed >= 1.5 ? 'met' : 'NOT MET'}`,
  );
  console.log(
    `hookyard (1 process) p99 = ${one.p99.toFixed(2)} ms (target ≤ 30 ms) ${one.p99 <= 30 ? 'met' : 'NOT MET'}`,
  );
  console.log(
    `events per gateway CPU-second at ${RATE}/s, 2 processes / 1 = ${cost.toFixed(2)}  (target within 15%: ≥ 0.85) ${cost >= 0.85 ? 'met' : 'NOT MET'}`,
  );
  const perProcess = two.fixedEventsPerCpuS / one.halfEventsPerCpuS;
  console.log(
    `  at the same load per process (2 × ${RATE / 2}/s against 1 × ${RATE / 2}/s): ${perProcess.toFixed(2)}`,
  );
  console.log(`  saturated (wrk): ${saturated.toFixed(2)}`);
  console.log(
    `  for scale, the seed-style receiver (no batching) at ${RATE / 2}/s against itself at ${RATE}/s: ${(seed.halfEventsPerCpuS / seed.fixedEventsPerCpuS).toFixed(2)}`,
  );
  const linger = summary['hookyard-pg-1-linger'];
  if (linger)
    console.log(
      `batch_linger 2ms against 0, 1 process: events/CPU-s ×${(linger.fixedEventsPerCpuS / one.fixedEventsPerCpuS).toFixed(2)} at ${RATE}/s, ×${(linger.halfEventsPerCpuS / one.halfEventsPerCpuS).toFixed(2)} at ${RATE / 2}/s; saturated req/s ×${(linger.rps / one.rps).toFixed(2)}, p99 ${linger.p99.toFixed(1)} against ${one.p99.toFixed(1)} ms`,
    );
}
if (values.json)
  writeFileSync(
    values.json,
    `${JSON.stringify({ at: new Date().toISOString(), summary, runs: Object.fromEntries(results) }, null, 2)}\n`,
  );
