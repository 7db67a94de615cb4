// Group commit: requests that arrive together share one transaction and one fsync. A batch is
// flushed on setImmediate — whatever has accumulated, at once: a fixed timer was measured to
// cost a lone sender 3× its throughput (docs/baselines.md). A new batch may commit while earlier
// ones still wait for their fsync (the store coalesces those), so the event loop never idles
// on the disk; `maxInFlight` bounds how many batches wait at once.
// Where a batch has a cost of its own (a round trip and a transaction on a database server),
// a lone event may `linger` a moment for company, but only while the previous batch had
// company: a sender that waits for each answer before sending the next never waits for it.
// One bad event never fails the others that share its commit: a batch the store refuses for
// the data of an event in it (not for being unavailable) is halved until the culprit is alone,
// so the rest are stored and answered and only the culprit is refused.
import { HookyardError } from '../errors.ts';
import type { InsertOutcome, NewEvent, Store } from './contract.ts';

/**
 * The store refused this event for its own data (a value the column cannot hold, a constraint
 * it breaks), not for being unavailable: its batch-mates were stored without it, and storing
 * it again would fail the same way. `cause` is the store's error.
 */
export class EventRefusedError extends HookyardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('payload_invalid', message, options);
  }
}

/** PostgreSQL SQLSTATE classes that mean "this statement's data", not "this server": 22 data
 * exception (22021 a U+0000 in text, 22P05 untranslatable character), 23 integrity constraint
 * violation, 54 program limit exceeded (an index row over the page size). Connection, shutdown
 * and resource errors (08, 53, 57, 58) and client-side ones (ECONNREFUSED…) are not.
 * https://www.postgresql.org/docs/current/errcodes-appendix.html */
const PG_EVENT_ERROR = /^(22|23|54)[0-9A-Z]{3}$/;
/** SQLite primary result codes for a value or row the database refuses: TOOBIG, CONSTRAINT,
 * MISMATCH (https://www.sqlite.org/rescode.html). BUSY, IOERR, FULL… are the store's. */
const SQLITE_EVENT_ERRORS = new Set([18, 19, 20]);

/**
 * Whether a failed insert was refused for the data of the events in it rather than because
 * the store is unavailable. The stores wrap the driver's error as `cause`
 * (StoreUnavailableError); a store that is down must fail its batch at once, not once per
 * event, so anything unrecognised counts as unavailable.
 */
export function isEventError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const { code, errcode } = e as { code?: unknown; errcode?: unknown };
    if (e.name === 'PostgresError' && typeof code === 'string' && PG_EVENT_ERROR.test(code))
      return true;
    if (code === 'ERR_SQLITE_ERROR' && typeof errcode === 'number')
      return SQLITE_EVENT_ERRORS.has(errcode & 0xff);
  }
  return false;
}

interface Pending {
  event: NewEvent;
  resolve(outcome: InsertOutcome): void;
  reject(error: unknown): void;
}

export interface GroupCommitStats {
  batches: number;
  events: number;
  failures: number;
  /** Events the store refused for their own data, their batch-mates stored without them. */
  refused: number;
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
  /** Called with each committed batch's size (the batch-size metric): once per transaction. */
  onBatch?: (size: number) => void;
}

export class GroupCommit {
  readonly #store: Store;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #linger: number;
  readonly #onBatch: ((size: number) => void) | undefined;
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
    refused: 0,
    lastFailureAt: null,
    healthy: true,
  };

  constructor(store: Store, options: GroupCommitOptions = {}) {
    this.#store = store;
    this.#maxBatch = options.maxBatch ?? 1000;
    this.#maxInFlight = options.maxInFlight ?? 8;
    this.#linger = options.linger ?? 0;
    this.#onBatch = options.onBatch;
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
      await this.#insert(batch);
    } catch (error) {
      this.stats.failures++;
      this.stats.lastFailureAt = Date.now();
      this.stats.healthy = false;
      // Those already answered (stored halves of a split batch) ignore a second settlement.
      for (const p of batch) p.reject(error);
    } finally {
      this.#inFlight--;
      this.#schedule();
      if (this.#inFlight === 0 && this.#queue.length === 0) {
        for (const wake of this.#idle.splice(0)) wake();
      }
    }
  }

  /**
   * Commits `batch` and answers its events. A batch refused for the data of an event in it is
   * split in halves, each committed on its own in order (so the first of two events with one
   * id stays the one stored), until the culprit is alone and refused: one culprit in n events
   * costs about 2·log2(n) more commits, all of them quick. Throws when the store is
   * unavailable, with the events not yet answered left to the caller.
   */
  async #insert(batch: Pending[]): Promise<void> {
    let outcomes: InsertOutcome[];
    try {
      outcomes = await this.#store.insertEvents(batch.map((p) => p.event));
    } catch (error) {
      if (!isEventError(error)) throw error;
      const [only] = batch;
      if (only && batch.length === 1) {
        this.stats.refused++;
        only.reject(
          new EventRefusedError('the store refused this event for its data', { cause: error }),
        );
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await this.#insert(batch.slice(0, half));
      await this.#insert(batch.slice(half));
      return;
    }
    this.stats.batches++;
    this.stats.events += batch.length;
    this.stats.healthy = true;
    this.#onBatch?.(batch.length);
    batch.forEach((p, i) => p.resolve(outcomes[i] as InsertOutcome));
  }

  /** Waits until everything submitted so far has been committed or refused. */
  async drain(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0 && !this.#scheduled) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}
