// Group commit: requests that arrive while a commit is under way share the next one, so one
// fsync acknowledges a whole batch. The batch is flushed on setImmediate, as soon as the
// previous commit is done: a fixed timer was measured to cost a lone sender 3× its
// throughput (baselines.md), and waiting adds latency without adding durability.
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
  /** Unix ms of the last failed commit, and whether a commit has succeeded since. */
  lastFailureAt: number | null;
  healthy: boolean;
}

export class GroupCommit {
  readonly #store: Store;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #scheduled = false;
  #flushing: Promise<void> | null = null;
  readonly stats: GroupCommitStats = {
    batches: 0,
    events: 0,
    failures: 0,
    lastFailureAt: null,
    healthy: true,
  };

  constructor(store: Store, options: { maxBatch?: number } = {}) {
    this.#store = store;
    this.#maxBatch = options.maxBatch ?? 1000;
  }

  /** Resolves once the event is durably stored (or found already stored). */
  submit(event: NewEvent): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = null;
        if (this.#queue.length > 0) this.#schedule();
      });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
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
    }
  }

  /** Waits until everything submitted so far has been committed or refused. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#flushing || this.#scheduled) {
      await (this.#flushing ?? new Promise((r) => setImmediate(r)));
    }
  }
}
