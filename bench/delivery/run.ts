// bench/delivery: ingest → delivered, for Hookyard and a seed-style polling job queue, side by
// side in one run. The gateways run on core 0; wrk, the sink and this script on core 1.
//   node bench/delivery/run.ts [--duration 10] [--connections 50] [--latency 200] [--backlog 1000000]
//                              [--pg <admin url>]
// Phases per gateway: (1) idle latency, one event at a time, send → received by the sink;
// (2) deliveries/s while wrk drives ingest; (3, Hookyard) a backlog of N pending deliveries,
// built while the sink holds its requests, then drained with RSS sampled every second.
// With --pg, Hookyard on PostgreSQL runs too, as one process and as two on one database (the
// second on core 1; the load is split between them).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BODY,
  ensureBuilt,
  openLoop,
  quantile,
  ROOT,
  SECRET,
  SIGNATURE,
  stop,
  waitForPort,
  wrk,
  pgAdmin,
} from '../lib.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    latency: { type: 'string', default: '200' },
    rate: { type: 'string', default: '3000' },
    backlog: { type: 'string', default: '1000000' },
    concurrency: { type: 'string', default: '50' },
    /** An admin URL: also run Hookyard on PostgreSQL (a fresh database) beside the others. */
    pg: { type: 'string' },
    json: { type: 'string' },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const LATENCY_N = Number(values.latency);
const RATE = Number(values.rate);
/** Hookyard destination `concurrency` (attempts in flight). */
const DEST_CONCURRENCY = Number(values.concurrency);
const BACKLOG = Number(values.backlog);
const TOKEN = 'bench-token';

// This script (and the sink in it) shares core 1 with wrk; the gateway has core 0.
execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

/** The destination: answers 200 at once (or holds requests until released), records arrivals. */
function startSink() {
  const arrivals: number[] = [];
  const seenKeys = new Set<string>();
  const waiters = new Map<string, () => void>();
  let holding = false;
  const held: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      arrivals.push(performance.now());
      const key = String(req.headers['idempotency-key']);
      seenKeys.add(key);
      waiters.get(key)?.();
      waiters.delete(key);
      if (holding) held.push(res);
      else res.end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise<{
    url: string;
    arrivals: number[];
    seen(key: string): Promise<void>;
    hold(): void;
    release(): void;
    close(): Promise<void>;
  }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/hooks`,
        arrivals,
        seen: (key) =>
          seenKeys.has(key) ? Promise.resolve() : new Promise((r) => waiters.set(key, r)),
        hold: () => {
          holding = true;
        },
        release: () => {
          holding = false;
          for (const res of held.splice(0)) res.end('ok');
        },
        close: () => {
          server.closeAllConnections();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}

interface Gateway {
  key: string;
  name: string;
  /** `hookyard serve` processes on one database (default 1); process i runs on core i % 2. */
  processes?: number;
  args(port: number, dir: string, sink: string, timeout: string): string[];
  env?(dir: string, sink: string): NodeJS.ProcessEnv;
  /** The sink sees `idempotency-key`: Hookyard's event id from the reply, or the delivery id. */
  keyOf(reply: { id?: string }, delivery: string): string;
}

// With --pg: a fresh database for each hookyard-on-PostgreSQL gateway, dropped at the end.
const PG_DATABASES = ['bench_delivery_pg', 'bench_delivery_pg2', 'bench_delivery_pg_backlog'];
const admin = values.pg ? pgAdmin(values.pg) : undefined;
const PG_URLS = admin ? await Promise.all(PG_DATABASES.map((name) => admin.fresh(name))) : [];

const hookyardConfig =
  (storage: (dir: string) => string, extra = '') =>
  (port: number, dir: string, sink: string, timeout: string) => {
    const config = join(dir, `hookyard-${port}.yaml`);
    writeFileSync(
      config,
      `storage: ${storage(dir)}\nserver: { port: ${port} }\nlog_level: warn\n` +
        `api: { token: ${TOKEN} }\n` +
        `sources:\n  gh: { provider: github, secret: ${SECRET} }\n` +
        `destinations:\n  app: { url: "${sink}", concurrency: ${DEST_CONCURRENCY}, timeout: ${timeout} }\n` +
        `routes:\n  - { source: gh, to: app }\n${extra}`,
    );
    return [join(ROOT, 'bin/hookyard.js'), 'serve', '--config', config];
  };

const GATEWAYS: Gateway[] = [
  {
    key: 'seed',
    name: 'seed: Express, commit per request, worker polling a jobs table every 100 ms',
    args: () => [join(HERE, 'servers/seed-queue.ts')],
    env: (dir, sink) => ({ BENCH_DB: join(dir, 'seed.db'), BENCH_SINK: sink }),
    keyOf: (_reply, delivery) => delivery,
  },
  {
    key: 'hookyard',
    name: 'hookyard serve',
    args: hookyardConfig((dir) => `sqlite:${join(dir, 'hookyard.db')}`),
    keyOf: (reply) => reply.id ?? '',
  },
  // What the search indexer and the metrics cost delivery (they share SQLite's one writer
  // and the event loop with the workers): the same gateway with them off, in the same run.
  {
    key: 'hookyard-lean',
    name: 'hookyard serve, search and metrics off',
    args: hookyardConfig(
      (dir) => `sqlite:${join(dir, 'hookyard.db')}`,
      'search: { enabled: false }\nmetrics: { enabled: false }\n',
    ),
    keyOf: (reply) => reply.id ?? '',
  },
  ...PG_URLS.map((url, i): Gateway => {
    const processes = i === 1 ? 2 : 1;
    return {
      key: ['hookyard-pg', 'hookyard-pg-2', 'hookyard-pg-backlog'][i] as string,
      name: `hookyard serve on PostgreSQL${processes > 1 ? `, ${processes} processes` : ''}`,
      processes,
      args: hookyardConfig(() => url),
      keyOf: (reply) => reply.id ?? '',
    };
  }),
];

async function launch(g: Gateway, sinkUrl: string, timeout = '10s') {
  const dir = mkdtempSync(join(tmpdir(), `bench-delivery-${g.key}-`));
  const first = 19_000 + Math.floor(Math.random() * 1000);
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  for (let i = 0; i < (g.processes ?? 1); i++) {
    const port = first + i;
    children.push(
      spawn(
        'taskset',
        ['-c', String(i % 2), process.execPath, ...g.args(port, dir, sinkUrl, timeout)],
        {
          env: { ...process.env, PORT: String(port), ...g.env?.(dir, sinkUrl) },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      ),
    );
    await waitForPort(port);
    urls.push(`http://127.0.0.1:${port}`);
  }
  return {
    /** The first process's; `urls` has every process's. */
    url: urls[0] as string,
    urls,
    child: children[0] as ChildProcess,
    async close() {
      for (const c of children) await stop(c);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function send(url: string): Promise<{ reply: { id?: string }; delivery: string }> {
  const delivery = randomUUID();
  const res = await fetch(`${url}/webhooks/gh`, {
    method: 'POST',
    body: BODY,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': delivery,
      'x-hub-signature-256': SIGNATURE,
    },
  });
  return { reply: (await res.json()) as { id?: string }, delivery };
}

const results: Record<string, Record<string, number>> = {};
ensureBuilt();
console.log(
  `bench/delivery: destination concurrency ${DEST_CONCURRENCY}, latency ${LATENCY_N} events, load ${DURATION}s wrk -c${CONNECTIONS}, backlog ${BACKLOG}, node ${process.version}`,
);

for (const g of GATEWAYS.filter((x) => x.key !== 'hookyard-pg-backlog')) {
  const sink = await startSink();
  const gw = await launch(g, sink.url);
  const r: Record<string, number> = {};
  try {
    // (1) Idle latency: one event at a time.
    const lat: number[] = [];
    for (let i = 0; i < LATENCY_N; i++) {
      const t0 = performance.now();
      const sent = await send(gw.urls[i % gw.urls.length] as string);
      // The sink remembers keys, so a delivery that beat the reply here still counts.
      await Promise.race([
        sink.seen(g.keyOf(sent.reply, sent.delivery)),
        new Promise((r2) => setTimeout(r2, 5000)),
      ]);
      lat.push(performance.now() - t0);
    }
    r.latency_p50_ms = quantile(lat, 0.5);
    r.latency_p99_ms = quantile(lat, 0.99);

    // (2) Open loop, on an idle gateway: ingest at a fixed RATE for DURATION seconds; do deliveries keep pace?
    const sinkBefore = sink.arrivals.length;
    const openFrom = performance.now();
    // Several processes: the rate is split between them (as a load balancer would).
    const opens = await Promise.all(
      gw.urls.map((u) => openLoop(u, RATE / gw.urls.length, DURATION)),
    );
    const open = {
      accepted: opens.reduce((a, o) => a + o.accepted, 0),
      failed: opens.reduce((a, o) => a + o.failed, 0),
      seconds: Math.max(...opens.map((o) => o.seconds)),
    };
    const sentTo = openFrom + open.seconds * 1000;
    const deliveredDuring = sink.arrivals.slice(sinkBefore).filter((t) => t <= sentTo).length;
    // Then wait for the lag to clear (up to 60 s) to time the end-to-end run.
    const target = sinkBefore + open.accepted;
    const waitUntil = performance.now() + 60_000;
    while (sink.arrivals.length < target && performance.now() < waitUntil) {
      await new Promise((res) => setTimeout(res, 20));
    }
    const last =
      sink.arrivals.length >= target ? (sink.arrivals[target - 1] as number) : Number.NaN;
    r.open_rate_sent_per_s = open.accepted / open.seconds;
    r.open_delivered_per_s = deliveredDuring / open.seconds;
    r.open_lag_at_end = open.accepted - deliveredDuring;
    r.open_end_to_end_per_s = open.accepted / ((last - openFrom) / 1000);
    r.open_failed = open.failed;
    console.log(
      `${g.key.padEnd(8)} open loop ${RATE}/s: ingested ${r.open_rate_sent_per_s.toFixed(0)}/s (failed ${open.failed}), ` +
        `delivered ${r.open_delivered_per_s.toFixed(0)}/s meanwhile, lag at end ${r.open_lag_at_end}, ` +
        `end to end ${r.open_end_to_end_per_s.toFixed(0)}/s`,
    );

    // (3) Deliveries per second while wrk drives ingest as fast as it can (closed loop).
    const from = performance.now();
    const before = sink.arrivals.length;
    const loads = await Promise.all(
      gw.urls.map((u) =>
        wrk(`${u}/webhooks/gh`, DURATION, Math.round(CONNECTIONS / gw.urls.length)),
      ),
    );
    const load = {
      rps: loads.reduce((a, l) => a + l.rps, 0),
      non2xx: loads.reduce((a, l) => a + l.non2xx + l.socketErrors, 0),
    };
    const to = performance.now();
    const inWindow = sink.arrivals.slice(before).filter((t) => t >= from && t <= to).length;
    r.ingest_rps = load.rps;
    r.ingest_non2xx = load.non2xx;
    r.delivered_per_s = inWindow / ((to - from) / 1000);
    console.log(
      `${g.key.padEnd(8)} latency p50 ${r.latency_p50_ms.toFixed(1)} ms p99 ${r.latency_p99_ms.toFixed(1)} ms | ` +
        `ingest ${load.rps.toFixed(0)}/s (non-2xx ${load.non2xx}), delivered ${r.delivered_per_s.toFixed(0)}/s during the load`,
    );
  } finally {
    await gw.close();
    await sink.close();
  }
  results[g.key] = r;
}

// (3) Backlog: Hookyard only. The sink holds requests while N events are ingested, so N
// deliveries wait pending; then it answers and the backlog drains.
// On PostgreSQL (--pg), the same in a database of its own, reported with hookyard-pg.
for (const [key, into] of [
  ['hookyard', 'hookyard'],
  ['hookyard-lean', 'hookyard-lean'],
  ['hookyard-pg-backlog', 'hookyard-pg'],
] as const) {
  const g = GATEWAYS.find((x) => x.key === key);
  if (BACKLOG <= 0 || !g) continue;
  const sink = await startSink();
  sink.hold();
  const gw = await launch(g, sink.url, '60m');
  const rss = () => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${gw.child.pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0) / 1024;
  };
  const heap = async () => {
    const res = await fetch(`${gw.url}/api/stats`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return ((await res.json()) as { memory: { heap_used: number } }).memory.heap_used / 2 ** 20;
  };
  const stored = async () => {
    const res = await fetch(`${gw.url}/api/stats`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return ((await res.json()) as { commits: { events: number } }).commits.events;
  };
  try {
    const t0 = performance.now();
    // wrk runs in short rounds until N are stored (it cannot stop at a count).
    while ((await stored()) < BACKLOG) {
      const left = BACKLOG - (await stored());
      await wrk(
        `${gw.url}/webhooks/gh`,
        Math.max(1, Math.min(10, Math.ceil(left / 8000))),
        CONNECTIONS,
      );
    }
    const total = await stored();
    console.log(
      `backlog (${g.key}): ${total} events stored in ${((performance.now() - t0) / 1000).toFixed(0)} s; draining`,
    );
    const samples: number[] = [];
    const heaps: number[] = [];
    const start = performance.now();
    // The sink is fresh for this phase: every arrival is one of the backlog's, including the
    // attempts it held while the events were stored.
    const before = 0;
    sink.release();
    const rssStart = rss();
    while (sink.arrivals.length - before < total) {
      await new Promise((r) => setTimeout(r, 1000));
      samples.push(rss());
      heaps.push(await heap());
      const done = sink.arrivals.length - before;
      if (samples.length % 30 === 0) {
        console.log(
          `  ${done} delivered, RSS ${samples.at(-1)?.toFixed(0)} MiB, heap used ${heaps.at(-1)?.toFixed(0)} MiB`,
        );
      }
    }
    const seconds = (performance.now() - start) / 1000;
    const r = results[into] ?? {};
    r.backlog_events = total;
    r.backlog_drain_s = seconds;
    r.backlog_drain_per_s = total / seconds;
    r.rss_start_mib = rssStart;
    r.rss_min_mib = Math.min(...samples);
    r.rss_max_mib = Math.max(...samples);
    r.heap_used_min_mib = Math.min(...heaps);
    r.heap_used_max_mib = Math.max(...heaps);
    console.log(
      `backlog (${g.key}): drained ${total} in ${seconds.toFixed(0)} s (${r.backlog_drain_per_s.toFixed(0)}/s); RSS ` +
        `start ${rssStart.toFixed(0)} MiB, min ${r.rss_min_mib.toFixed(0)}, max ${r.rss_max_mib.toFixed(0)} ` +
        `(max/min ${(r.rss_max_mib / r.rss_min_mib).toFixed(2)}); heap used ${r.heap_used_min_mib.toFixed(0)}–${r.heap_used_max_mib.toFixed(0)} MiB`,
    );
  } finally {
    sink.release();
    await gw.close();
    await sink.close();
  }
}

const h = results.hookyard ?? {};
const s = results.seed ?? {};
console.log(
  `\n| gateway | latency p50 ms | p99 ms | open loop ${RATE}/s: delivered/s meanwhile, lag | end to end /s | ingest req/s | delivered/s during load | backlog drained /s |`,
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const g of GATEWAYS.filter((x) => x.key !== 'hookyard-pg-backlog')) {
  const r = results[g.key] ?? {};
  console.log(
    `| ${g.name} | ${r.latency_p50_ms?.toFixed(1)} | ${r.latency_p99_ms?.toFixed(1)} | ${r.open_delivered_per_s?.toFixed(0)}, ${r.open_lag_at_end} | ${r.open_end_to_end_per_s?.toFixed(0)} | ${r.ingest_rps?.toFixed(0)} | ${r.delivered_per_s?.toFixed(0)} | ${r.backlog_drain_per_s?.toFixed(0) ?? '–'} |`,
  );
}
console.log(
  `\nopen loop at ${RATE}/s: hookyard delivered ${h.open_delivered_per_s?.toFixed(0)}/s while ingesting, ` +
    `end to end ${h.open_end_to_end_per_s?.toFixed(0)}/s (target ≥ 3000); seed ${s.open_delivered_per_s?.toFixed(0)}/s`,
);
console.log(
  `saturating ingest: hookyard delivered ${h.delivered_per_s?.toFixed(0)}/s while ingest took ${h.ingest_rps?.toFixed(0)}/s; seed ${s.delivered_per_s?.toFixed(0)}/s`,
);
console.log(
  `idle p50 receive→delivered: ${h.latency_p50_ms?.toFixed(1)} ms (target ≤ 10), seed ${s.latency_p50_ms?.toFixed(1)} ms`,
);
const lean = results['hookyard-lean'];
if (lean) {
  const r = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : '–');
  console.log(
    `hookyard / search and metrics off: saturated delivered ${r(h.delivered_per_s, lean.delivered_per_s)}, ` +
      `ingest ${r(h.ingest_rps, lean.ingest_rps)}, backlog drain ${r(h.backlog_drain_per_s, lean.backlog_drain_per_s)}`,
  );
}
if (h.rss_min_mib) {
  console.log(
    `RSS during the drain: max/min ${(h.rss_max_mib! / h.rss_min_mib).toFixed(2)} (target ≤ 1.20)`,
  );
}
if (admin) {
  for (const name of PG_DATABASES) await admin.drop(name);
  await admin.end();
}
if (values.json)
  writeFileSync(
    values.json,
    `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`,
  );
