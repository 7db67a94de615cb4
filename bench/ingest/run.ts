// bench/ingest: requests/s and latency of four receivers under the same wrk load, side by
// side in one run, rounds interleaved so drift on this shared machine hits all alike.
//   node bench/ingest/run.ts [--duration 10] [--connections 50] [--rounds 3] [--warmup 2]
//     [--json file]
// Each server is pinned to core 0 and wrk to core 1 (taskset). See bench/README.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BODY,
  ensureBuilt,
  cpuSeconds,
  median,
  ROOT,
  SECRET,
  stop,
  type WrkResult,
  waitForPort,
  wrk,
} from '../lib.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
const WARMUP = Number(values.warmup);

interface Target {
  name: string;
  key: string;
  start(port: number, dir: string): string[];
  env?(dir: string): NodeJS.ProcessEnv;
  /** Rows stored, to check every acknowledged request was stored. */
  stored?(dir: string): number;
}

const count = (path: string, table: string) => {
  const db = new DatabaseSync(path, { readOnly: true });
  const n = Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n);
  db.close();
  return n;
};

const TARGETS: Target[] = [
  {
    key: 'bare',
    name: '(a) bare node:http, HMAC + JSON.parse, no storage',
    start: () => [join(HERE, 'servers/bare.ts')],
  },
  {
    key: 'seed',
    name: '(b) seed: Express, SQLite commit per request, FULL',
    start: () => [join(HERE, 'servers/seed-express.ts')],
    env: (dir) => ({ BENCH_DB: join(dir, 'seed.db') }),
    stored: (dir) => count(join(dir, 'seed.db'), 'events'),
  },
  {
    key: 'floor',
    name: '(d) durable floor: (a) + one SQLite table, group commit, FULL',
    start: () => [join(HERE, 'servers/floor.ts')],
    env: (dir) => ({ BENCH_DB: join(dir, 'floor.db') }),
    stored: (dir) => count(join(dir, 'floor.db'), 'events'),
  },
  {
    key: 'hookyard',
    name: '(c) hookyard serve (group commit, fsync before reply)',
    start: (port, dir) => {
      const config = join(dir, 'hookyard.yaml');
      writeFileSync(
        config,
        `storage: sqlite:${join(dir, 'hookyard.db')}\nserver: { port: ${port} }\nlog_level: warn\n` +
          `sources:\n  gh: { provider: github, secret: ${SECRET} }\n`,
      );
      return [join(ROOT, 'bin/hookyard.js'), 'serve', '--config', config];
    },
    stored: (dir) => count(join(dir, 'hookyard.db'), 'events'),
  },
];

// The search indexer on and off in one run (issue: it must cost ingest ≤ 5%).
{
  const hookyard = TARGETS.find((t) => t.key === 'hookyard') as Target;
  TARGETS.push({
    ...hookyard,
    key: 'nosearch',
    name: '(f) hookyard serve, search.enabled: false',
    start: (port, dir) => {
      const args = hookyard.start(port, dir);
      const config = args.at(-1) as string;
      writeFileSync(config, `${readFileSync(config, 'utf8')}search: { enabled: false }\n`);
      return args;
    },
  });
}

// Metrics on (the default: a registry fed by lifecycle events) and off in one run (issue:
// metrics must cost ingest ≤ 3%). `BENCH_ONLY=hookyard,nometrics,…` runs a subset.
{
  const hookyard = TARGETS.find((t) => t.key === 'hookyard') as Target;
  TARGETS.push({
    ...hookyard,
    key: 'nometrics',
    name: '(g) hookyard serve, metrics.enabled: false',
    start: (port, dir) => {
      const args = hookyard.start(port, dir);
      const config = args.at(-1) as string;
      writeFileSync(config, `${readFileSync(config, 'utf8')}metrics: { enabled: false }\n`);
      return args;
    },
  });
}

// Before and after in one run: BENCH_BASELINE names another checkout (built, e.g. a git
// worktree at the commit before a change), whose `hookyard serve` runs as receiver (e).
const BASELINE = process.env.BENCH_BASELINE;
if (BASELINE) {
  const hookyard = TARGETS.find((t) => t.key === 'hookyard') as Target;
  TARGETS.push({
    ...hookyard,
    key: 'before',
    name: `(e) hookyard serve at ${process.env.BENCH_BASELINE_LABEL ?? BASELINE}`,
    start: (port, dir) => {
      const args = hookyard.start(port, dir);
      return [join(BASELINE, 'bin/hookyard.js'), ...args.slice(1)];
    },
  });
}

if (process.env.BENCH_ONLY) {
  const only = new Set(process.env.BENCH_ONLY.split(','));
  TARGETS.splice(0, TARGETS.length, ...TARGETS.filter((t) => only.has(t.key)));
}

ensureBuilt();

console.log(
  `bench/ingest: ${ROUNDS} rounds × ${DURATION}s, wrk -t1 -c${CONNECTIONS}, body ${BODY.length} B, node ${process.version}`,
);
/** One measured wrk run, with its warm-up and (durable receivers) the rows it left behind. */

interface Round extends WrkResult {
  /** The receiver's CPU per measured request, in µs. */
  cpuUs?: number;
  round: number;
  warmup?: WrkResult;
  stored?: number;
  acked?: number;
}
const results = new Map<string, Round[]>(TARGETS.map((t) => [t.key, []]));

// On Ctrl-C, stop the receiver that is running and remove its temp dir (its database).
let current: { child: ChildProcess; dir: string } | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    current?.child.kill('SIGKILL');
    if (current) rmSync(current.dir, { recursive: true, force: true });
    process.exit(130);
  });

let port = 18_000 + Math.floor(Math.random() * 1000);
for (let round = 0; round < ROUNDS; round++) {
  const order = [
    ...TARGETS.slice(round % TARGETS.length),
    ...TARGETS.slice(0, round % TARGETS.length),
  ];
  for (const target of order) {
    port++;
    const dir = mkdtempSync(join(tmpdir(), `bench-${target.key}-`));
    const child = spawn('taskset', ['-c', '0', process.execPath, ...target.start(port, dir)], {
      env: { ...process.env, PORT: String(port), ...target.env?.(dir) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    current = { child, dir };
    try {
      await waitForPort(port);
      const url = `http://127.0.0.1:${port}/webhooks/gh`;
      const warm = WARMUP > 0 ? await wrk(url, WARMUP, CONNECTIONS) : undefined;
      const cpu0 = cpuSeconds(child.pid as number);
      const r: Round = { ...(await wrk(url, DURATION, CONNECTIONS)), round: round + 1 };
      r.cpuUs = ((cpuSeconds(child.pid as number) - cpu0) * 1e6) / r.requests;
      if (warm) r.warmup = warm;
      await stop(child);
      let check = '';
      if (target.stored) {
        r.acked = r.requests - r.non2xx + (warm ? warm.requests - warm.non2xx : 0);
        r.stored = target.stored(dir);
        check =
          r.stored >= r.acked
            ? `stored ${r.stored} ≥ acked ${r.acked}`
            : `LOST: stored ${r.stored} < acked ${r.acked}`;
      }
      results.get(target.key)?.push(r);
      console.log(
        `round ${round + 1}  ${target.key.padEnd(8)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  CPU ${r.cpuUs?.toFixed(1)} µs/req  non-2xx ${r.non2xx}${warm?.non2xx ? ` (+${warm.non2xx} in warm-up)` : ''}  socket errors ${r.socketErrors}  ${check}`,
      );
    } finally {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
      current = undefined;
    }
  }
}

interface Summary {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  /** The receiver's CPU per request (median of rounds), µs. */
  cpuUs: number;
  /** Requests of the measured runs, and how many of them were not 2xx. */
  requests: number;
  non2xx: number;
  /** Non-2xx in the warm-up runs (not in `requests`). */
  non2xxWarmup: number;
  socketErrors: number;
  /** Rounds in which fewer rows were stored than requests acknowledged. */
  roundsLost: number;
}
const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
const summary: Record<string, Summary> = Object.fromEntries(
  TARGETS.map((t) => {
    const rs = results.get(t.key) ?? [];
    return [
      t.key,
      {
        name: t.name,
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        cpuUs: median(rs.map((r) => r.cpuUs ?? NaN)),
        requests: sum(rs.map((r) => r.requests)),
        non2xx: sum(rs.map((r) => r.non2xx)),
        non2xxWarmup: sum(rs.map((r) => r.warmup?.non2xx ?? 0)),
        socketErrors: sum(rs.map((r) => r.socketErrors + (r.warmup?.socketErrors ?? 0))),
        roundsLost: rs.filter((r) => r.stored !== undefined && r.stored < (r.acked ?? 0)).length,
      },
    ];
  }),
);

console.log('\nmedians:');
console.log('| receiver | req/s | p50 ms | p99 ms | CPU µs/req | non-2xx (of requests) |');
console.log('|---|---:|---:|---:|---:|---:|');
// In the order of the labels (a)–(d), whatever the order they ran in.
for (const s of Object.values(summary).sort((p, q) => p.name.localeCompare(q.name))) {
  console.log(
    `| ${s.name} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.cpuUs.toFixed(1)} | ${s.non2xx} of ${s.requests} |`,
  );
}
console.log(
  `\nnon-2xx, measured + warm-up: ${Object.entries(summary)
    .map(([k, s]) => `${k} ${s.non2xx + s.non2xxWarmup}`)
    .join(', ')}; socket errors: ${Object.entries(summary)
    .map(([k, s]) => `${k} ${s.socketErrors}`)
    .join(', ')}`,
);
const lost = Object.entries(summary).filter(([, s]) => s.roundsLost > 0);
console.log(
  lost.length === 0
    ? 'every durable round: stored ≥ acknowledged'
    : `LOST acknowledged events in: ${lost.map(([k, s]) => `${k} (${s.roundsLost} rounds)`).join(', ')}`,
);

// Ratios of medians. The floor is the reference: a ratio against the bare server moves with
// the disk's fsync speed on the day, one against the floor measures Hookyard's own overhead.
const h = summary.hookyard;
const a = summary.bare;
const b = summary.seed;
const f = summary.floor;
const ratios: Record<string, number | number[]> = {};
if (h && a && b && f) {
  // Per round too: floor and hookyard run next to each other, so a round's ratio shares its noise.
  const floorRounds = new Map((results.get('floor') ?? []).map((r) => [r.round, r.rps]));
  const byRound = (results.get('hookyard') ?? []).map(
    (r) => r.rps / (floorRounds.get(r.round) ?? NaN),
  );
  Object.assign(ratios, {
    hookyardFloor: h.rps / f.rps,
    hookyardFloorCpu: f.cpuUs / h.cpuUs,
    hookyardSeed: h.rps / b.rps,
    floorBare: f.rps / a.rps,
    hookyardBare: h.rps / a.rps,
    hookyardFloorByRound: byRound,
  });
  const line = (label: string, value: string, target: string, met?: boolean) =>
    console.log(
      `${label.padEnd(17)} ${value.padStart(8)}  ${target.padEnd(26)}${met === undefined ? '' : met ? 'met' : 'NOT MET'}`,
    );
  const x = (r: number) => `${r.toFixed(2)}×`;
  const bad = h.non2xx + h.non2xxWarmup;
  console.log('');
  line('hookyard / floor', x(h.rps / f.rps), '(target ≥ 0.85×)', h.rps / f.rps >= 0.85);
  console.log(`  by round: ${byRound.map(x).join(', ')}`);
  line(
    'floor / hookyard CPU per request',
    x(f.cpuUs / h.cpuUs),
    `(${f.cpuUs.toFixed(1)} vs ${h.cpuUs.toFixed(1)} µs)`,
  );
  line('hookyard / seed', x(h.rps / b.rps), '(target ≥ 5×)', h.rps / b.rps >= 5);
  line('floor / bare', x(f.rps / a.rps), '(the disk; no target)');
  line('hookyard / bare', x(h.rps / a.rps), '(earlier target ≥ 0.6×)', h.rps / a.rps >= 0.6);
  line('hookyard p99', `${h.p99.toFixed(2)} ms`, '(target ≤ 20 ms)', h.p99 <= 20);
  line('hookyard non-2xx', String(bad), '(target 0)', bad === 0);
  console.log(`  ${h.non2xx} of ${h.requests} measured requests, ${h.non2xxWarmup} in warm-up`);
  const n = summary.nosearch;
  if (n) {
    ratios.searchCost = 1 - h.rps / n.rps;
    line(
      'hookyard / no search',
      x(h.rps / n.rps),
      '(search index costs ingest ≤ 5%)',
      h.rps / n.rps >= 0.95,
    );
    line('no search / floor', x(n.rps / f.rps), '');
  }
  const e = summary.before;
  if (e) {
    ratios.hookyardBefore = h.rps / e.rps;
    line('hookyard / before', x(h.rps / e.rps), '(this change on / off)');
    line('before / floor', x(e.rps / f.rps), '');
    line(
      'CPU per request now / before',
      x(h.cpuUs / e.cpuUs),
      `(${h.cpuUs.toFixed(1)} vs ${e.cpuUs.toFixed(1)} µs)`,
    );
    console.log(`  p99: ${h.p99.toFixed(2)} ms now, ${e.p99.toFixed(2)} ms before`);
  }
}
const m = summary.nometrics;
if (h && m) {
  // Per round, metrics on and off ran next to each other.
  const offRounds = new Map((results.get('nometrics') ?? []).map((r) => [r.round, r.rps]));
  const byRound = (results.get('hookyard') ?? []).map(
    (r) => r.rps / (offRounds.get(r.round) ?? NaN),
  );
  ratios.metricsOnOff = h.rps / m.rps;
  ratios.metricsCpuOnOff = h.cpuUs / m.cpuUs;
  ratios.metricsOnOffByRound = byRound;
  console.log(
    `metrics on / off  ${(h.rps / m.rps).toFixed(3)}×  (target ≥ 0.97×) ${h.rps / m.rps >= 0.97 ? 'met' : 'NOT MET'}`,
  );
  console.log(`  by round: ${byRound.map((r) => `${r.toFixed(3)}×`).join(', ')}`);
  console.log(`  p99: ${h.p99.toFixed(2)} ms on, ${m.p99.toFixed(2)} ms off`);
  console.log(
    `  CPU per request: ${h.cpuUs.toFixed(1)} µs on, ${m.cpuUs.toFixed(1)} µs off (${((100 * (h.cpuUs - m.cpuUs)) / m.cpuUs).toFixed(1)}%)`,
  );
}
if (values.json)
  writeFileSync(
    values.json,
    `${JSON.stringify(
      { at: new Date().toISOString(), summary, ratios, runs: Object.fromEntries(results) },
      null,
      2,
    )}\n`,
  );
