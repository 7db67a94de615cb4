// Background pruning (docs/spec.md §8): events older than `retention` go, with their deliveries and
// attempts, in small batches — each a short transaction, so ingest and delivery never wait
// long behind it — until none is left, then again after `everyMs`. After each batch it rests
// at least as long as the batch took, so a long catch-up (a month of events the first time)
// takes at most half of one connection's time from the hot path (bench/store/retention-load.ts).
import type { Logger } from 'pino';
import type { Store } from './contract.ts';

export interface RetentionOptions {
  retentionMs: number;
  /** Events per transaction. Default 1000. */
  batch?: number;
  /** Time between passes. Default 10 minutes. */
  everyMs?: number;
  /** Least pause between batches of one pass; it is at least the time the batch took.
   * Default 20 ms. */
  pauseMs?: number;
}

export class Retention {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #options: Required<RetentionOptions>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #stopped = false;

  constructor(store: Store, logger: Logger, options: RetentionOptions) {
    this.#store = store;
    this.#logger = logger;
    this.#options = { batch: 1000, everyMs: 600_000, pauseMs: 20, ...options };
  }

  start(): void {
    this.#schedule(1000);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.prune().then(
        () => this.#schedule(this.#options.everyMs),
        (error: unknown) => {
          this.#logger.warn({ err: error }, 'retention: pruning failed; trying again later');
          this.#schedule(this.#options.everyMs);
        },
      );
    }, ms);
    this.#timer.unref();
  }

  /** One pass: prunes until nothing older than the retention is left. Resolves to the count. */
  prune(now = Date.now()): Promise<number> {
    this.#running ??= (async () => {
      const before = now - this.#options.retentionMs;
      let total = 0;
      for (;;) {
        if (this.#stopped) break;
        const started = performance.now();
        const n = await this.#store.prune(before, this.#options.batch);
        total += n;
        if (n < this.#options.batch) break;
        const took = performance.now() - started;
        await new Promise((r) => setTimeout(r, Math.max(this.#options.pauseMs, took)));
      }
      if (total > 0) this.#logger.info({ pruned: total, before }, 'retention: pruned old events');
      return total;
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }
}
