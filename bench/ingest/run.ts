// bench/ingest: requests/s and latency of three receivers under the same wrk load, side by
// side in one run, rounds interleaved so drift on this shared machine hits all alike.
//   node bench/ingest/run.ts [--duration 10] [--connections 50] [--rounds 3] [--warmup 2]
// Each server is pinned to core 0 and wrk to core 1 (taskset). See bench/README.md.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
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

const SECRET = 'bench-github-secret';
/** A GitHub `issues` payload padded to 1.5 KB. */
function makeBody(): string {
  const base = {
    action: 'opened',
    issue: { id: 1, number: 1347, title: 'Found a bug', state: 'open', body: '' },
    repository: { id: 1296269, full_name: 'octocat/Hello-World', private: false },
    sender: { login: 'octocat', id: 1, type: 'User' },
  };
  const size = JSON.stringify(base).length;
  base.issue.body = 'x'.repeat(1536 - size);
  return JSON.stringify(base);
}
const BODY = makeBody();
const SIGNATURE = `sha256=${createHmac('sha256', SECRET).update(BODY).digest('hex')}`;

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

interface WrkResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  socketErrors: number;
}

function ms(value: string, unit: string): number {
  const v = Number(value);
  return unit === 'us' ? v / 1000 : unit === 's' ? v * 1000 : v;
}

function wrk(url: string, seconds: number): WrkResult {
  const out = execFileSync(
    'taskset',
    [
      '-c',
      '1',
      'wrk',
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      '--latency',
      '-s',
      join(HERE, 'github.lua'),
      url,
    ],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        BENCH_BODY: BODY,
        BENCH_SIGNATURE: SIGNATURE,
        BENCH_PATH: new URL(url).pathname,
        BENCH_RUN: randomUUID(),
      },
    },
  );
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const lat = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? ms(m[1] as string, m[2] as string) : Number.NaN;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50: lat('50'),
    p99: lat('99'),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
    socketErrors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} never opened`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
};

if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

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
      env: { ...process.env, PORT: String(port), BENCH_SECRET: SECRET, ...target.env?.(dir) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      await waitForPort(port);
      const url = `http://127.0.0.1:${port}/webhooks/gh`;
      const warm = WARMUP > 0 ? wrk(url, WARMUP) : undefined;
      const r = wrk(url, DURATION);
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
