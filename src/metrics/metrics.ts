// Prometheus metrics (docs/spec.md §9), fed from the typed lifecycle events (docs/style.md §7):
// ingest and delivery never call a metric, they emit what happened and this module counts it.
// The queue gauges (pending, oldest pending age) are read from the store when Prometheus
// scrapes, through the same indexed reads as GET /api/destinations, one read shared by
// concurrent scrapes and cut short after `storeTimeoutMs`; a store that cannot answer leaves
// those gauges out and sets hookyard_storage_up to 0, and the counters are still served.
//
// Label values are bounded whatever a sender does: `source` is a configured name or
// "(unknown)" (ingest maps every other name to it; an unexpected one is mapped here too),
// `code` comes from the error catalogue, `destination` from config or the library's handlers
// (names written in code, never taken from a request).
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  type Registry as RegistryType,
  Registry,
} from 'prom-client';
import { ERROR_CODES } from '../errors.ts';
import type { Lifecycle, LifecycleEvents } from '../lifecycle.ts';
import type { DestinationHealth, Store } from '../store/contract.ts';

/** The source label of a request whose source is not configured (ingest/rejections.ts). */
export const UNKNOWN_SOURCE = '(unknown)';
/** The code label of a refusal whose code is not in the catalogue (never expected). */
const OTHER_CODE = 'other';

export interface MetricsDeps {
  lifecycle: Lifecycle;
  store: Pick<Store, 'destinationHealth'>;
  /** Configured source names. */
  sources: Iterable<string>;
  /** Configured destination names; handlers' names are added as their attempts are seen. */
  destinations: Iterable<string>;
  /** Unix ms; tests pin it. */
  now?: () => number;
  /** How long a scrape waits for the store's queue read before answering without it. */
  storeTimeoutMs?: number;
  /** A queue read this recent is served again rather than read anew (several Prometheus
   * servers scraping one gateway cost one read). */
  storeMaxAgeMs?: number;
}

export interface Metrics {
  registry: RegistryType;
  /** `text/plain; version=0.0.4; charset=utf-8`. */
  contentType: string;
  /** The Prometheus text exposition of every metric, queue gauges read now. */
  scrape(): Promise<string>;
  /** Stops counting (unsubscribes from the lifecycle). */
  close(): void;
}

/** Request to ack: a commit is about a millisecond on a quiet disk, seconds on a sick one. */
const INGEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Events per group commit, up to GroupCommit's maxBatch (1000). */
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];
/** An attempt: a fast app answers in milliseconds; the timeout defaults to 10 s, up to minutes. */
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(deps: MetricsDeps): Metrics {
  const now = deps.now ?? Date.now;
  const storeTimeoutMs = deps.storeTimeoutMs ?? 2000;
  const storeMaxAgeMs = deps.storeMaxAgeMs ?? 1000;
  const sources = new Set(deps.sources);
  const destinations = new Set(deps.destinations);
  const registry = new Registry();
  const registers = [registry];

  const received = new Counter({
    name: 'hookyard_events_received_total',
    help: 'Events stored, by source (duplicates not included).',
    labelNames: ['source'] as const,
    registers,
  });
  const duplicate = new Counter({
    name: 'hookyard_events_duplicate_total',
    help: 'Requests answered "duplicate": the (source, event id) was stored before.',
    labelNames: ['source'] as const,
    registers,
  });
  const rejected = new Counter({
    name: 'hookyard_requests_rejected_total',
    help: 'Webhook requests refused, by source ("(unknown)" for names not configured) and error code.',
    labelNames: ['source', 'code'] as const,
    registers,
  });
  const ingestDuration = new Histogram({
    name: 'hookyard_ingest_duration_seconds',
    help: 'From the request headers to the 200 answer of a stored or duplicate event (verify, commit, fsync).',
    labelNames: ['source'] as const,
    buckets: INGEST_BUCKETS,
    registers,
  });
  const batchSize = new Histogram({
    name: 'hookyard_commit_batch_size',
    help: 'Events stored per group commit (one transaction, one fsync).',
    buckets: BATCH_BUCKETS,
    registers,
  });
  const attempts = new Counter({
    name: 'hookyard_delivery_attempts_total',
    help: 'Delivery attempts finished, by destination and outcome (delivered, retry, dead).',
    labelNames: ['destination', 'outcome'] as const,
    registers,
  });
  const attemptDuration = new Histogram({
    name: 'hookyard_delivery_attempt_duration_seconds',
    help: 'How long delivery attempts took, whatever their outcome.',
    labelNames: ['destination'] as const,
    buckets: ATTEMPT_BUCKETS,
    registers,
  });
  const dead = new Counter({
    name: 'hookyard_deliveries_dead_total',
    help: 'Deliveries that became dead (max_attempts reached, or 410 Gone).',
    labelNames: ['destination'] as const,
    registers,
  });

  // Every configured label value from the start, at 0: rate() and increase() see the first
  // event instead of a series that appears already at 1.
  const known = (destination: string) => {
    if (destinations.has(destination)) return;
    destinations.add(destination);
    initDestination(destination);
  };
  function initDestination(d: string) {
    for (const outcome of ['delivered', 'retry', 'dead'])
      attempts.inc({ destination: d, outcome }, 0);
    dead.inc({ destination: d }, 0);
  }
  for (const s of sources) {
    received.inc({ source: s }, 0);
    duplicate.inc({ source: s }, 0);
  }
  for (const d of destinations) initDestination(d);

  const sourceLabel = (s: string) => (sources.has(s) ? s : UNKNOWN_SOURCE);
  // The per-event metrics, bound to their source once: no label hashing per event.
  const bySource = new Map(
    [...sources, UNKNOWN_SOURCE].map((source) => [
      source,
      {
        received: received.labels({ source }),
        duplicate: duplicate.labels({ source }),
        duration: ingestDuration.labels({ source }),
      },
    ]),
  );
  const forSource = (s: string) => bySource.get(s) ?? (bySource.get(UNKNOWN_SOURCE) as never);
  type Listeners = { [K in keyof LifecycleEvents]?: (...args: LifecycleEvents[K]) => void };
  const listeners: Listeners = {
    'event:received': (e) => forSource(e.source).received.inc(),
    'event:acked': (e) => {
      const metrics = forSource(e.source);
      if (e.duplicate) metrics.duplicate.inc();
      metrics.duration.observe(e.seconds);
    },
    'request:refused': (e) =>
      rejected.inc({
        source: sourceLabel(e.source),
        code: Object.hasOwn(ERROR_CODES, e.code) ? e.code : OTHER_CODE,
      }),
    'commit:batch': (e) => batchSize.observe(e.size),
    'delivery:attempt': (e) => {
      known(e.destination);
      attempts.inc({ destination: e.destination, outcome: e.attempt.outcome });
      attemptDuration.observe({ destination: e.destination }, e.attempt.durationMs / 1000);
    },
    'delivery:dead': (e) => {
      known(e.destination);
      dead.inc({ destination: e.destination });
    },
  };
  for (const [name, listener] of Object.entries(listeners))
    deps.lifecycle.on(name as keyof LifecycleEvents, listener as never);

  // The queue, read from the store at scrape time: one destination at a time, letting the
  // event loop run between them. SQLite answers on this thread, in time that grows with a
  // destination's backlog (about 4 ms per 100,000 pending, bench/metrics/scrape.ts): a request
  // waits for one destination's read, never for all of them.
  async function readQueue(names: string[], at: number): Promise<DestinationHealth[]> {
    const out: DestinationHealth[] = [];
    for (const name of names) {
      if (out.length > 0) await new Promise((resolve) => setImmediate(resolve));
      // `since` = now: the per-minute history is not needed, only the queue.
      out.push(...(await deps.store.destinationHealth([name], at, at)));
    }
    return out;
  }
  // One read at a time: every gauge of a scrape, and every scrape meanwhile, shares the read in
  // flight — also one that outlives its scrape's timeout (a store that hangs gets one read, not
  // one more per scrape). A read younger than `storeMaxAgeMs` is served again.
  let reading: Promise<DestinationHealth[] | undefined> | undefined;
  let last: { at: number; health: DestinationHealth[] } | undefined;
  function queue(): Promise<DestinationHealth[] | undefined> {
    const at = now();
    if (last && at - last.at < storeMaxAgeMs) return Promise.resolve(last.health);
    reading ??= readQueue([...destinations], at)
      .then(
        (health) => {
          last = { at, health };
          return health;
        },
        () => undefined,
      )
      .finally(() => (reading = undefined));
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      reading,
      new Promise<undefined>(
        (resolve) => (timer = setTimeout(() => resolve(undefined), storeTimeoutMs)),
      ),
    ]).finally(() => clearTimeout(timer));
  }

  new Gauge({
    name: 'hookyard_storage_up',
    help: '1 when the store answered the queue read of this scrape, 0 when it failed or timed out.',
    registers,
    async collect() {
      this.set((await queue()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hookyard_deliveries_pending',
    help: 'Deliveries waiting to be delivered (held by a worker now or not), by destination.',
    labelNames: ['destination'] as const,
    registers,
    async collect() {
      this.reset();
      for (const h of (await queue()) ?? [])
        this.set({ destination: h.destination }, h.pending + h.inFlight);
    },
  });
  new Gauge({
    name: 'hookyard_deliveries_in_flight',
    help: 'Pending deliveries a worker holds now (an attempt in progress), by destination.',
    labelNames: ['destination'] as const,
    registers,
    async collect() {
      this.reset();
      for (const h of (await queue()) ?? []) this.set({ destination: h.destination }, h.inFlight);
    },
  });
  new Gauge({
    name: 'hookyard_delivery_oldest_pending_age_seconds',
    help: 'Age of the oldest pending delivery, by destination; 0 when none is pending.',
    labelNames: ['destination'] as const,
    registers,
    async collect() {
      this.reset();
      const at = now();
      for (const h of (await queue()) ?? []) {
        const age = h.oldestPendingAt === null ? 0 : Math.max(0, (at - h.oldestPendingAt) / 1000);
        this.set({ destination: h.destination }, age);
      }
    },
  });

  collectDefaultMetrics({ register: registry });

  return {
    registry,
    contentType: registry.contentType,
    scrape: () => registry.metrics(),
    close() {
      for (const [name, listener] of Object.entries(listeners))
        deps.lifecycle.off(name as keyof LifecycleEvents, listener as never);
    },
  };
}
