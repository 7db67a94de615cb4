// The delivery worker: per destination, lease due deliveries up to `concurrency`, attempt
// them, record the outcome, repeat. It sleeps until the next delivery falls due and wakes at
// once when ingest stores an event for the destination — no busy polling.
import type { Logger } from 'pino';
import type { DestinationConfig } from '../config.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { AttemptRecord, Lease, Store } from '../store/contract.ts';
import { endAttemptSpan, startAttemptSpan, withSpan } from '../tracing.ts';
import { type AttemptOutcome, HttpDestination } from './http-destination.ts';
import { judge } from './policy.ts';

/** Where a worker's attempts go: an HTTP endpoint, or an in-process handler (library). */
export interface Target {
  attempt(lease: Lease, signal: AbortSignal): Promise<AttemptOutcome>;
  close(): Promise<void>;
}

/** What a worker needs of a destination: its name, limits and retry policy. */
export type WorkerSettings = Pick<
  DestinationConfig,
  'name' | 'concurrency' | 'timeoutMs' | 'maxAttempts' | 'backoffBaseMs' | 'backoffMaxMs' | 'rate'
>;

/** Beyond its timeout, how long a lease outlives an attempt before another worker (of this
 * process or, on PostgreSQL, of another) may retake it: the attempt's own timeout again, within
 * [5 s, 30 s]. It covers recording the outcome and clock skew between machines; it is also how
 * long a killed process's deliveries wait before another process retries them. */
const leaseMarginMs = (timeoutMs: number) => Math.min(30_000, Math.max(5000, timeoutMs));
/** The longest sleep: a backstop should a wake-up ever be missed. */
const MAX_SLEEP_MS = 30_000;
const STORE_RETRY_MS = 1000;

class DestinationWorker {
  readonly #config: WorkerSettings;
  readonly #target: Target;
  readonly #deps: DispatcherDeps;
  /** The attempt spans' name (low cardinality: destinations are configured names). */
  readonly #spanName: string;
  readonly #inFlight = new Map<number, { lease: Lease; done: Promise<void> }>();
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #pumping = false;
  #again = false;
  #stopping = false;
  /** Start times of recent attempts, oldest first, for `rate` (a sliding window: never more
   * than `limit` starts in any `windowMs`, which a token bucket's burst would allow). */
  readonly #starts: number[] = [];

  constructor(config: WorkerSettings, target: Target, deps: DispatcherDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#target = target;
    this.#spanName = `deliver ${config.name}`;
  }

  /** How many attempts `rate` allows to start now (Infinity without a rate). */
  #allowed(now: number): number {
    const rate = this.#config.rate;
    if (!rate) return Number.POSITIVE_INFINITY;
    let old = 0;
    while (old < this.#starts.length && (this.#starts[old] as number) <= now - rate.windowMs) old++;
    if (old > 0) this.#starts.splice(0, old);
    return rate.limit - this.#starts.length;
  }

  wake(): void {
    if (this.#stopping) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    clearTimeout(this.#timer);
    try {
      do {
        this.#again = false;
        const now = Date.now();
        const slots = this.#config.concurrency - this.#inFlight.size;
        // Lease in batches: wait until half the slots are free (unless idle). One claim per
        // finished attempt was a write transaction per delivery.
        if (this.#inFlight.size > 0 && slots < Math.ceil(this.#config.concurrency / 2)) return;
        const allowed = this.#allowed(now);
        const free = Math.min(slots, allowed);
        if (this.#stopping) break;
        if (free <= 0) {
          const rate = this.#config.rate;
          if (allowed <= 0 && slots > 0 && rate) {
            // The window is full: come back when its oldest start leaves it.
            this.#schedule((this.#starts[0] as number) + rate.windowMs - now + 1);
            return;
          }
          break;
        }
        const leases = await this.#deps.store.claimDeliveries(
          this.#config.name,
          free,
          now,
          now + this.#config.timeoutMs + leaseMarginMs(this.#config.timeoutMs),
        );
        if (this.#config.rate) for (let i = 0; i < leases.length; i++) this.#starts.push(now);
        for (const lease of leases) this.#start(lease);
        if (leases.length === free) this.#again = true; // maybe more due
      } while (this.#again);
      await this.#sleep();
    } catch (error) {
      this.#deps.logger.error(
        { err: error, destination: this.#config.name },
        'delivery store error; retrying',
      );
      this.#schedule(STORE_RETRY_MS);
    } finally {
      this.#pumping = false;
      // A wake that came while we were deciding how long to sleep must not be lost: the
      // worker would then sleep through a fresh event until the next due time (up to 30 s).
      if (this.#again) this.wake();
    }
  }

  async #sleep(): Promise<void> {
    if (this.#stopping || this.#inFlight.size >= this.#config.concurrency) return; // a finish wakes us
    const due = await this.#deps.store.nextDueAt(this.#config.name, Date.now());
    const wait = due === null ? MAX_SLEEP_MS : Math.max(0, due - Date.now());
    this.#schedule(Math.min(wait, MAX_SLEEP_MS));
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#stopping) return;
    this.#timer = setTimeout(() => this.wake(), ms);
  }

  #start(lease: Lease): void {
    const done = this.#attempt(lease).finally(() => {
      this.#inFlight.delete(lease.seq);
      this.wake();
    });
    this.#inFlight.set(lease.seq, { lease, done });
  }

  async #attempt(lease: Lease): Promise<void> {
    const { store, lifecycle, logger } = this.#deps;
    const startedAt = Date.now();
    // In the trace of the request that stored the event (tracing.ts), whichever process this is.
    const span = startAttemptSpan(this.#spanName, lease.event.traceContext);
    const outcome = await withSpan(span, () => this.#target.attempt(lease, this.#abort.signal));
    if (this.#abort.signal.aborted) {
      span.end(); // no outcome: the attempt does not count
      // Cut short by shutdown: not the destination's failure. Give the delivery back untried.
      await store.releaseLeases([lease]).catch(() => undefined);
      return;
    }
    const verdict = judge(lease.attempt, outcome, this.#config, Date.now());
    const record: AttemptRecord = {
      n: lease.attempt,
      startedAt,
      durationMs: Date.now() - startedAt,
      statusCode: outcome.statusCode ?? null,
      response: outcome.response,
      error: outcome.error,
      outcome:
        verdict.status === 'delivered' ? 'delivered' : verdict.status === 'dead' ? 'dead' : 'retry',
    };
    endAttemptSpan(span, this.#config.name, lease, record);
    try {
      await store.finishAttempt(lease, record, verdict);
    } catch (error) {
      // The lease will expire and the attempt be repeated: at-least-once holds.
      logger.error({ err: error, delivery: lease.id }, 'could not record an attempt');
      return;
    }
    const base = { deliveryId: lease.id, eventId: lease.event.id, destination: this.#config.name };
    lifecycle.emit('delivery:attempt', { ...base, attempt: record });
    if (verdict.status === 'delivered')
      lifecycle.emit('delivery:succeeded', { ...base, attempts: lease.attempt });
    if (verdict.status === 'dead')
      lifecycle.emit('delivery:dead', { ...base, reason: verdict.reason });
  }

  /** Stops leasing; lets attempts in flight finish until the deadline, then aborts the rest. */
  async stop(deadlineMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    const all = Promise.all([...this.#inFlight.values()].map((f) => f.done));
    const timer = setTimeout(() => this.#abort.abort(), deadlineMs);
    await all;
    clearTimeout(timer);
    await this.#target.close();
  }
}

export interface DispatcherDeps {
  store: Store;
  lifecycle: Lifecycle;
  logger: Logger;
}

export class Dispatcher {
  readonly #workers = new Map<string, DestinationWorker>();
  readonly #deps: DispatcherDeps;
  #started = false;
  readonly #unwatch: (() => void) | undefined;

  constructor(destinations: Iterable<DestinationConfig>, deps: DispatcherDeps) {
    this.#deps = deps;
    for (const d of destinations) this.add(d, new HttpDestination(d));
    const wake = (e: { destinations: readonly string[] }) => {
      for (const name of e.destinations) this.#workers.get(name)?.wake();
    };
    deps.lifecycle.on('event:received', wake);
    deps.lifecycle.on('deliveries:created', wake);
    // Other processes sharing the store (PostgreSQL) announce their new deliveries; null
    // means some may have been missed, so every worker looks.
    this.#unwatch = deps.store.watch?.((destinations) => {
      if (destinations === null) for (const w of this.#workers.values()) w.wake();
      else wake({ destinations });
    });
  }

  /** A worker for another destination (the library's handlers); started if we are. */
  add(settings: WorkerSettings, target: Target): void {
    if (this.#workers.has(settings.name))
      throw new Error(`destination ${settings.name} exists already`);
    const worker = new DestinationWorker(settings, target, this.#deps);
    this.#workers.set(settings.name, worker);
    if (this.#started) worker.wake();
  }

  /** Starts every worker: deliveries left pending by an earlier run are picked up at once. */
  start(): void {
    this.#started = true;
    for (const w of this.#workers.values()) w.wake();
  }

  async stop(deadlineMs = 10_000): Promise<void> {
    this.#unwatch?.();
    await Promise.all([...this.#workers.values()].map((w) => w.stop(deadlineMs)));
  }
}
