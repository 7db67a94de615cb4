// Group commit: requests that arrive together share one transaction and one fsync. A batch is
// flushed on setImmediate — whatever has accumulated, at once: a fixed timer was measured to
// cost a lone sender 3× its throughput (baselines.md). A new batch may commit while earlier
// ones still wait for their fsync (the store coalesces those), so the event loop never idles
// on the disk; `maxInFlight` bounds how many batches wait at once.
// Where a batch has a cost of its own (a round trip and a transaction on a database server),
// a lone event may `linger` a moment for company, but only while the previous batch had
// company: a sender that waits for each answer before sending the next never waits for it.
import type { InsertOutcome, NewEvent, Store } from './contract.ts';

interface Pending {
  event: NewEvent;
  resolve(outcome: InsertOutcome): void;
  reject(error: unknown): void;
}

export interface GroupCommitStats {
  batches: number;
  events: number;
  failures: number;
  /** Unix ms of the last failed commit. */
  lastFailureAt: number | null;
  /** False from a failed commit until the next one succeeds. */
  healthy: boolean;
}

export interface GroupCommitOptions {
  /** Most events in one transaction. Default 1000. */
  maxBatch?: number;
  /** Most batches committed but not yet acknowledged. Default 8. */
  maxInFlight?: number;
  /** Most ms a lone event waits for company while the previous batch had some. Default 0. */
  linger?: number;
}

export class GroupCommit {
  readonly #store: Store;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #linger: number;
  /** Events in the last batch: while it was more than one, a lone event may linger until as
   * many have come, or `linger` ms have passed. */
  #lastBatch = 0;
  #lingering: NodeJS.Timeout | undefined;
  #queue: Pending[] = [];
  #scheduled = false;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  readonly stats: GroupCommitStats = {
    batches: 0,
    events: 0,
    failures: 0,
    lastFailureAt: null,
    healthy: true,
  };

  constructor(store: Store, options: GroupCommitOptions = {}) {
    this.#store = store;
    this.#maxBatch = options.maxBatch ?? 1000;
    this.#maxInFlight = options.maxInFlight ?? 8;
    this.#linger = options.linger ?? 0;
  }

  /** Resolves once the event is durably stored (or found already stored). */
  submit(event: NewEvent): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      if (this.#lingering && this.#queue.length >= this.#lastBatch) {
        clearTimeout(this.#lingering);
        this.#lingering = undefined;
        this.#scheduled = false;
      }
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0 || this.#inFlight >= this.#maxInFlight) return;
    this.#scheduled = true;
    const flush = () => {
      this.#scheduled = false;
      this.#lingering = undefined;
      void this.#flush();
    };
    if (this.#linger > 0 && this.#lastBatch > 1 && this.#queue.length === 1)
      this.#lingering = setTimeout(flush, this.#linger);
    else setImmediate(flush);
  }

  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    this.#lastBatch = batch.length;
    this.#inFlight++;
    this.#schedule(); // more than maxBatch waiting: the rest goes in the next tick
    try {
      const outcomes = await this.#store.insertEvents(batch.map((p) => p.event));
      this.stats.batches++;
      this.stats.events += batch.length;
      this.stats.healthy = true;
      batch.forEach((p, i) => p.resolve(outcomes[i] as InsertOutcome));
    } catch (error) {
      this.stats.failures++;
      this.stats.lastFailureAt = Date.now();
      this.stats.healthy = false;
      for (const p of batch) p.reject(error);
    } finally {
      this.#inFlight--;
      this.#schedule();
      if (this.#inFlight === 0 && this.#queue.length === 0) {
        for (const wake of this.#idle.splice(0)) wake();
      }
    }
  }

  /** Waits until everything submitted so far has been committed or refused. */
  async drain(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0 && !this.#scheduled) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}
