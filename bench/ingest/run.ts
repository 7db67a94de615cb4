// bench/ingest: requests/s and latency of three receivers under the same wrk load, side by
// side in one run, rounds interleaved so drift on this shared machine hits all alike.
//   node bench/ingest/run.ts [--duration 10] [--connections 50] [--rounds 3] [--warmup 2]
// Each server is pinned to core 0 and wrk to core 1 (taskset). See bench/README.md.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BODY,
  ensureBuilt,
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

ensureBuilt();

console.log(
  `bench/ingest: ${ROUNDS} rounds × ${DURATION}s, wrk -t1 -c${CONNECTIONS}, body ${BODY.length} B, node ${process.version}`,
);
const results = new Map<string, WrkResult[]>(TARGETS.map((t) => [t.key, []]));
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
    try {
      await waitForPort(port);
      const url = `http://127.0.0.1:${port}/webhooks/gh`;
      const warm = WARMUP > 0 ? await wrk(url, WARMUP, CONNECTIONS) : undefined;
      const r = await wrk(url, DURATION, CONNECTIONS);
      await stop(child);
      let check = '';
      if (target.stored) {
        const acked = r.requests - r.non2xx + (warm ? warm.requests - warm.non2xx : 0);
        const stored = target.stored(dir);
        check =
          stored >= acked
            ? `stored ${stored} ≥ acked ${acked}`
            : `LOST: stored ${stored} < acked ${acked}`;
      }
      results.get(target.key)?.push(r);
      console.log(
        `round ${round + 1}  ${target.key.padEnd(8)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  non-2xx ${r.non2xx}  socket errors ${r.socketErrors}  ${check}`,
      );
    } finally {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const summary = Object.fromEntries(
  TARGETS.map((t) => {
    const rs = results.get(t.key) ?? [];
    return [
      t.key,
      {
        name: t.name,
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
      },
    ];
  }),
) as Record<string, { name: string; rps: number; p50: number; p99: number; non2xx: number }>;

console.log('\nmedians:');
console.log('| receiver | req/s | p50 ms | p99 ms | non-2xx |');
console.log('|---|---:|---:|---:|---:|');
for (const s of Object.values(summary)) {
  console.log(
    `| ${s.name} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.non2xx} |`,
  );
}
const h = summary.hookyard;
const a = summary.bare;
const b = summary.seed;
if (h && a && b) {
  const vsSeed = h.rps / b.rps;
  const vsBare = h.rps / a.rps;
  console.log(
    `\nhookyard / seed = ${vsSeed.toFixed(2)}×   (target ≥ 4×)  ${vsSeed >= 4 ? 'met' : 'NOT MET'}`,
  );
  console.log(
    `hookyard / bare = ${vsBare.toFixed(2)}×   (target ≥ 0.6×) ${vsBare >= 0.6 ? 'met' : 'NOT MET'}`,
  );
  console.log(
    `hookyard p99 = ${h.p99.toFixed(2)} ms (target ≤ 20 ms) ${h.p99 <= 20 ? 'met' : 'NOT MET'}`,
  );
  console.log(`hookyard non-2xx = ${h.non2xx} (target 0) ${h.non2xx === 0 ? 'met' : 'NOT MET'}`);
}
if (values.json)
  writeFileSync(
    values.json,
    `${JSON.stringify({ at: new Date().toISOString(), summary, runs: Object.fromEntries(results) }, null, 2)}\n`,
  );
