// The one store contract every dialect implements (docs/style.md §4). Engine code sees only this.
import { HookyardError } from '../errors.ts';
import type { SearchLag } from './search.ts';

/** One numbered schema change of a dialect: applied in order, each once. Never edit one that
 * has shipped: add the next number. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** An event as received, ready to be stored. */
export interface NewEvent {
  /** Hookyard's id for the event. */
  id: string;
  source: string;
  /** The sender's id for the event: the dedup key within a source. */
  eventId: string;
  type: string | null;
  /** Unix milliseconds. */
  receivedAt: number;
  /** Request headers as received: names in their original case, in order. */
  headers: [name: string, value: string][];
  contentType: string | null;
  /** The raw body, byte for byte. */
  body: Uint8Array;
  /** Destinations the routes matched: a pending delivery each, stored in the same commit. */
  destinations: readonly NewDelivery[];
  /** The W3C trace context its deliveries' attempt spans are parented on (src/tracing.ts);
   * absent unless tracing is on or the sender sent a `traceparent`. */
  traceContext?: string;
}

export interface NewDelivery {
  destination: string;
  /** The destination's ordering_key value for this event, if it has one. */
  orderingKey: string | null;
}

export interface InsertOutcome {
  /** The stored event's id: the new one, or the first one's for a duplicate. */
  id: string;
  duplicate: boolean;
}

/** Derived from the newest delivery per destination: none → received; any dead → dead; any
 * pending after a failed attempt → failing; any pending → pending; else delivered. */
export type EventStatus = 'received' | 'pending' | 'failing' | 'delivered' | 'dead';

export interface EventSummary {
  id: string;
  source: string;
  eventId: string;
  type: string | null;
  receivedAt: number;
  size: number;
  status: EventStatus;
}

export interface AttemptRecord {
  n: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  /** The first 4 KiB of the response body. */
  response: string | null;
  error: string | null;
  outcome: 'delivered' | 'retry' | 'dead';
}

export interface DeliveryDetail {
  id: string;
  destination: string;
  status: 'pending' | 'delivered' | 'dead';
  attempts: AttemptRecord[];
  nextAt: number | null;
  lastError: string | null;
}

export interface StoredEvent extends EventSummary {
  headers: [string, string][];
  contentType: string | null;
  body: Uint8Array;
  deliveries: DeliveryDetail[];
}

/** A delivery taken by a worker until `leaseUntil`, with what it needs to make the attempt. */
export interface Lease {
  seq: number;
  id: string;
  destination: string;
  /** The number this attempt will have (1 for the first). */
  attempt: number;
  leaseUntil: number;
  event: {
    id: string;
    source: string;
    type: string | null;
    headers: [string, string][];
    contentType: string | null;
    body: Uint8Array;
    /** NewEvent's traceContext, when one was stored. */
    traceContext?: string;
  };
}

export type Verdict =
  | { status: 'delivered' }
  | { status: 'dead'; reason: string }
  | { status: 'pending'; nextAt: number };

export interface EventFilter {
  source?: string;
  status?: EventStatus;
  /** An exact type, or a glob with `*` (`payment_intent.*`). */
  type?: string;
  /** Unix milliseconds, inclusive. */
  since?: number;
  /** Unix milliseconds, exclusive. */
  until?: number;
  limit: number;
  /** Opaque, from a previous page's `nextCursor`. */
  cursor?: string;
  /** Search (src/store/search.ts): events with every word of `q`, as the start of a word.
   * Only indexed events are found (`searchLag`). Without a word to search for, a RangeError. */
  q?: string;
}

export interface EventPage {
  data: EventSummary[];
  nextCursor: string | null;
}

/** A page of the stream (eventsAfter). */
export interface StreamPage {
  data: (EventSummary & { cursor: string })[];
  /** Where the next read starts. */
  cursor: string;
}

/** Counts of one time bucket: events stored, attempts that delivered, attempts that failed. */
export interface ActivityCounts {
  /** Unix ms of the bucket's start. */
  bucket: number;
  received: number;
  delivered: number;
  failed: number;
}

/** One destination's attempt outcomes in one minute, with the newest failure among them. */
export interface DestinationMinute {
  destination: string;
  /** Unix ms of the minute's start. */
  bucket: number;
  delivered: number;
  failed: number;
  /** The newest failed attempt's error (`HTTP 500` when the app answered), and its time. */
  lastError: { error: string; at: number } | null;
}

/** A destination's queue as stored now, and its recent outcomes (destinationHealth). */
export interface DestinationHealth {
  destination: string;
  /** Pending deliveries no worker holds right now. */
  pending: number;
  /** Pending deliveries leased right now: an attempt in flight. */
  inFlight: number;
  /** When the oldest pending delivery (held or not) was created, Unix ms; null: none. */
  oldestPendingAt: number | null;
  dead: number;
  /** Its minutes from `since` on, oldest first (only those with counts). */
  minutes: DestinationMinute[];
  /** The newest failure among all its stored minutes. */
  lastError: { error: string; at: number } | null;
}

/** A durable listener (`hookyard listen --name`): where its local app has got to. */
export interface ListenerRecord {
  name: string;
  /** The stream cursor of the last event its local app answered 2xx for (or, for a listener
   * that has acknowledged nothing yet, the head when it was first seen). */
  cursor: string;
  /** Unix ms. */
  createdAt: number;
  updatedAt: number;
}

export interface MigrationReport {
  /** Migrations this call applied, in order (empty when the schema was up to date). */
  applied: { version: number; name: string }[];
  /** The schema version now. */
  version: number;
}

export interface Store {
  /**
   * Brings the schema up to date and proves the store reachable. Idempotent, and safe when
   * several processes call it at once: each migration is applied exactly once.
   */
  migrate(): Promise<MigrationReport>;
  /**
   * Stores a batch in one durable transaction (committed and synced before it resolves).
   * Events whose (source, eventId) is already stored are not stored again. Rejects with
   * `StoreUnavailableError` when nothing could be stored; then none of the batch is.
   */
  insertEvents(batch: readonly NewEvent[]): Promise<InsertOutcome[]>;
  /** Newest first. */
  listEvents(filter: EventFilter): Promise<EventPage>;
  getEvent(id: string): Promise<StoredEvent | undefined>;
  /**
   * Stored events after `cursor`, in cursor order: the order a live stream sends them. Every
   * durable event gets a cursor greater than any cursor handed out before it could be read,
   * so a reader that resumes after a cursor never skips an event and never sees one twice —
   * also where concurrent writers commit out of sequence order (PostgreSQL). `cursor` in the
   * reply is where the next read starts (it may pass events filtered out later). A malformed
   * cursor is a RangeError.
   */
  eventsAfter(cursor: string, limit: number): Promise<StreamPage>;
  /** The cursor of "now": a stream that starts here gets only what is stored from now on. */
  headCursor(): Promise<string>;
  /** A durable listener's record, or undefined when the name was never acknowledged. */
  getListener(name: string): Promise<ListenerRecord | undefined>;
  /**
   * Moves a listener's cursor to `cursor`, creating the listener there, and never backwards:
   * a cursor older than the stored one (a late acknowledgement of a listener that another one
   * of the same name has taken over from) leaves it where it is; the same one only refreshes
   * `updatedAt`. Atomic, also where several processes share the store. Resolves to the record
   * as stored now. A malformed cursor is a RangeError, before the store is asked.
   */
  ackListener(name: string, cursor: string, now: number): Promise<ListenerRecord>;
  /** Every listener, by name. */
  listListeners(): Promise<ListenerRecord[]>;
  /** Resolves when the store could take a write now (readiness). */
  ping(): Promise<void>;
  /**
   * Leases up to `limit` due deliveries of a destination until `leaseUntil`. A lease that
   * expires (its worker crashed) makes the delivery claimable again. Of deliveries sharing an
   * ordering key only the oldest pending one is ever claimable.
   */
  claimDeliveries(
    destination: string,
    limit: number,
    now: number,
    leaseUntil: number,
  ): Promise<Lease[]>;
  /** Records an attempt and moves the delivery on as the verdict says, releasing the lease. */
  finishAttempt(lease: Lease, attempt: AttemptRecord, verdict: Verdict): Promise<void>;
  /** Gives leases back unattempted (graceful shutdown). */
  releaseLeases(leases: readonly Lease[]): Promise<void>;
  /**
   * New pending deliveries for a stored event (replay): to `destination`, or else to every
   * destination it has had a delivery to. `dryRun` counts without writing. Undefined when no
   * such event exists.
   */
  replayEvent(
    id: string,
    destination: string | undefined,
    now: number,
    dryRun: boolean,
  ): Promise<{ id: string | null; destination: string }[] | undefined>;
  /**
   * When a worker of the destination has something to claim next, or null: its earliest
   * unleased pending delivery falls due, or its earliest lease runs out (the worker holding it
   * died, or could not record the outcome).
   */
  nextDueAt(destination: string, now: number): Promise<number | null>;
  /**
   * Deletes up to `limit` of the oldest events received before `before`, with their
   * deliveries and attempts, in one short transaction; resolves to how many events went.
   */
  prune(before: number, limit: number): Promise<number>;
  /**
   * A capability of stores that several processes share: calls `listener` with the
   * destinations for which another process stored due deliveries, or with null when
   * notifications may have been missed (after a reconnect). Returns a function that stops it.
   */
  watch?(listener: (destinations: readonly string[] | null) => void): () => void;
  /**
   * A capability of stores where each batch costs a round trip and a transaction of its own:
   * how many ms a lone event may wait for others to share its batch (GroupCommit's `linger`).
   */
  readonly batchLinger?: number;
  /**
   * Adds per-minute counts to the stored ones (an UPSERT that adds), in one transaction: the
   * counters of several processes sharing a store, and of one process across restarts, add up.
   * No two items may share a minute (per destination).
   */
  addActivity(
    totals: readonly ActivityCounts[],
    destinations: readonly DestinationMinute[],
  ): Promise<void>;
  /** Stored counts of the minutes in [since, until), summed into buckets of `bucketMs`
   * (aligned on multiples of it), oldest first; buckets without counts are left out. */
  activity(since: number, until: number, bucketMs: number): Promise<ActivityCounts[]>;
  /** Each destination's queue at `now`, its stored minutes from `since`, its newest error.
   * Read through indexes: the cost grows with a destination's backlog, not with the store. */
  destinationHealth(
    destinations: readonly string[],
    now: number,
    since: number,
  ): Promise<DestinationHealth[]>;
  /** Deletes the per-minute counts of minutes before `before`. */
  pruneActivity(before: number): Promise<void>;
  /**
   * Indexes up to `limit` stored events for search that are not yet indexed, in one short
   * transaction, never one twice nor one skipped, also where several processes share the
   * store. Resolves to how many it indexed, or null when another process is indexing now.
   */
  indexSearch(limit: number): Promise<number | null>;
  /** How far search is behind what is stored: events not yet indexed, and the oldest's age. */
  searchLag(): Promise<SearchLag>;
  close(): Promise<void>;
}

export class StoreUnavailableError extends HookyardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('storage_unavailable', message, options);
  }
}

/** Cursors are opaque to clients: base64url of the last row's sequence number. */
export function encodeCursor(seq: number | bigint): string {
  return Buffer.from(String(seq)).toString('base64url');
}

export function decodeCursor(cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64url').toString();
  return /^\d{1,16}$/.test(text) ? Number(text) : undefined;
}

/** A stream cursor that is a sequence number (SQLite): digits only, else a RangeError. */
export function seqCursor(cursor: string): number {
  if (!/^\d{1,19}$/.test(cursor)) throw new RangeError('cursor is not a stream cursor');
  return Number(cursor);
}
