// Activity counts: events received, and attempts that delivered or failed, per minute (and per
// destination for the attempts). They are counted in memory as they happen — the engine feeds
// them from the lifecycle events — and added to the store every few seconds by an UPSERT that
// adds (Store.addActivity), so several processes sharing one PostgreSQL, and one process across
// restarts, add up. The charts (GET /api/series) and the recent outcomes of GET
// /api/destinations then read a few hundred small rows, never the events.
//
// What is not flushed yet is this process's own: reads add it to what is stored, under the
// same lock as the flush, so a count is never seen twice or missed. A crash loses at most the
// last `flushEveryMs` of counts (never an event); other processes' counts show once they flush.
import type { Logger } from 'pino';
import type {
  ActivityCounts,
  AttemptRecord,
  DestinationHealth,
  DestinationMinute,
  Store,
} from './contract.ts';

export const MINUTE_MS = 60_000;

/** The chart windows and their bucket sizes: at most 360 points each (a line per pixel or
 * two), and buckets that are whole minutes, five minutes or hours of UTC. */
export const SERIES_WINDOWS = {
  '1h': { windowMs: 3_600_000, bucketMs: 60_000 },
  '6h': { windowMs: 21_600_000, bucketMs: 60_000 },
  '24h': { windowMs: 86_400_000, bucketMs: 300_000 },
  '7d': { windowMs: 604_800_000, bucketMs: 3_600_000 },
} as const;
export type SeriesWindow = keyof typeof SERIES_WINDOWS;

export interface Series {
  bucketMs: number;
  /** Every bucket of the window, oldest first, the last one the bucket of `now`; zeros where
   * nothing happened. */
  data: ActivityCounts[];
}

/** A destination's health as the API shows it. */
export interface DestinationReport extends Omit<DestinationHealth, 'minutes'> {
  /** Attempts that delivered or failed in the current minute and the 4 (5m) or 59 (1h)
   * before it. */
  delivered5m: number;
  failed5m: number;
  delivered1h: number;
  failed1h: number;
}

export interface ActivityOptions {
  /** How often counts are added to the store. Default 5 s. */
  flushEveryMs?: number;
  /** How long minutes are kept. Default 8 days: the longest chart window and a day more. */
  keepMs?: number;
  /** How often minutes older than `keepMs` are deleted. Default 10 minutes. */
  pruneEveryMs?: number;
}

const minuteOf = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/** The error shown for a failed attempt: its own, or the status the app answered with. */
function attemptError(a: AttemptRecord): string {
  return a.error ?? (a.statusCode === null ? a.outcome : `HTTP ${a.statusCode}`);
}

const newer = (a: DestinationMinute['lastError'], b: DestinationMinute['lastError']) =>
  a === null ? b : b === null || a.at >= b.at ? a : b;

export class ActivityCounter {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #options: Required<ActivityOptions>;
  /** Not yet flushed, by minute; and by destination and minute. */
  #totals = new Map<number, ActivityCounts>();
  #destinations = new Map<string, DestinationMinute>();
  /** Flushes and reads one at a time (see the top of this file). */
  #lock: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #prunedAt = 0;

  constructor(store: Store, logger: Logger, options: ActivityOptions = {}) {
    this.#store = store;
    this.#logger = logger;
    this.#options = {
      flushEveryMs: 5000,
      keepMs: 8 * 86_400_000,
      pruneEveryMs: 600_000,
      ...options,
    };
  }

  /** An event was stored. */
  received(at = Date.now()): void {
    this.#total(minuteOf(at)).received++;
  }

  /** An attempt finished: delivered, or failed (to be retried, or dead). */
  attempt(destination: string, attempt: AttemptRecord, at = Date.now()): void {
    const bucket = minuteOf(at);
    const d = this.#destination(destination, bucket);
    if (attempt.outcome === 'delivered') {
      this.#total(bucket).delivered++;
      d.delivered++;
    } else {
      this.#total(bucket).failed++;
      d.failed++;
      d.lastError = newer({ error: attemptError(attempt), at }, d.lastError);
    }
  }

  #total(bucket: number): ActivityCounts {
    let t = this.#totals.get(bucket);
    if (!t) {
      t = { bucket, received: 0, delivered: 0, failed: 0 };
      this.#totals.set(bucket, t);
    }
    return t;
  }

  #destination(destination: string, bucket: number): DestinationMinute {
    const key = `${destination}\n${bucket}`;
    let d = this.#destinations.get(key);
    if (!d) {
      d = { destination, bucket, delivered: 0, failed: 0, lastError: null };
      this.#destinations.set(key, d);
    }
    return d;
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(work, work);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  start(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.flush().then(
        () => this.#schedule(),
        (error: unknown) => {
          this.#logger.warn({ err: error }, 'activity counts: flush failed; trying again later');
          this.#schedule();
        },
      );
    }, this.#options.flushEveryMs);
    this.#timer.unref();
  }

  /** Adds what was counted to the store, and now and then deletes old minutes. On failure the
   * counts are kept for the next flush. */
  flush(now = Date.now()): Promise<void> {
    return this.#exclusive(async () => {
      const totals = this.#totals;
      const destinations = this.#destinations;
      this.#totals = new Map();
      this.#destinations = new Map();
      try {
        await this.#store.addActivity([...totals.values()], [...destinations.values()]);
      } catch (error) {
        this.#restore(totals, destinations, now);
        throw error;
      }
      if (now - this.#prunedAt >= this.#options.pruneEveryMs) {
        await this.#store.pruneActivity(minuteOf(now - this.#options.keepMs));
        this.#prunedAt = now;
      }
    });
  }

  /** Counts a failed flush took out go back, added to what was counted meanwhile; what is
   * older than `keepMs` is dropped (a long outage must not grow memory without end). */
  #restore(
    totals: Map<number, ActivityCounts>,
    destinations: Map<string, DestinationMinute>,
    now: number,
  ): void {
    const oldest = minuteOf(now - this.#options.keepMs);
    for (const t of totals.values()) {
      if (t.bucket < oldest) continue;
      const into = this.#total(t.bucket);
      into.received += t.received;
      into.delivered += t.delivered;
      into.failed += t.failed;
    }
    for (const d of destinations.values()) {
      if (d.bucket < oldest) continue;
      const into = this.#destination(d.destination, d.bucket);
      into.delivered += d.delivered;
      into.failed += d.failed;
      into.lastError = newer(into.lastError, d.lastError);
    }
  }

  /** Stops flushing on a timer, after a last flush. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.flush().catch((error: unknown) => {
      this.#logger.warn({ err: error }, 'activity counts: the last flush failed; counts lost');
    });
  }

  /** Every bucket of `window` up to `now`: the stored counts and this process's unflushed ones. */
  series(window: SeriesWindow, now = Date.now()): Promise<Series> {
    const { windowMs, bucketMs } = SERIES_WINDOWS[window];
    const last = Math.floor(now / bucketMs) * bucketMs;
    const since = last - windowMs + bucketMs;
    const until = last + bucketMs;
    return this.#exclusive(async () => {
      const stored = await this.#store.activity(since, until, bucketMs);
      const data: ActivityCounts[] = [];
      for (let bucket = since; bucket < until; bucket += bucketMs) {
        data.push({ bucket, received: 0, delivered: 0, failed: 0 });
      }
      const add = (c: ActivityCounts) => {
        if (c.bucket < since || c.bucket >= until) return;
        const into = data[Math.floor((c.bucket - since) / bucketMs)] as ActivityCounts;
        into.received += c.received;
        into.delivered += c.delivered;
        into.failed += c.failed;
      };
      for (const c of stored) add(c);
      for (const c of this.#totals.values()) add(c);
      return { bucketMs, data };
    });
  }

  /** Each destination's queue and recent outcomes: stored, plus this process's unflushed. */
  health(destinations: readonly string[], now = Date.now()): Promise<DestinationReport[]> {
    const since1h = minuteOf(now) - 59 * MINUTE_MS;
    const since5m = minuteOf(now) - 4 * MINUTE_MS;
    return this.#exclusive(async () => {
      const stored = await this.#store.destinationHealth(destinations, now, since1h);
      return stored.map(({ minutes, ...h }) => {
        const mine = [...this.#destinations.values()].filter(
          (m) => m.destination === h.destination,
        );
        const report: DestinationReport = {
          ...h,
          delivered5m: 0,
          failed5m: 0,
          delivered1h: 0,
          failed1h: 0,
        };
        for (const m of [...minutes, ...mine]) {
          if (m.bucket >= since1h) {
            report.delivered1h += m.delivered;
            report.failed1h += m.failed;
          }
          if (m.bucket >= since5m) {
            report.delivered5m += m.delivered;
            report.failed5m += m.failed;
          }
          report.lastError = newer(m.lastError, report.lastError);
        }
        return report;
      });
    });
  }
}
