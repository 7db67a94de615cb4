// The one store contract every dialect implements (docs/style.md §4). Engine code sees only this.
import { HookyardError } from '../errors.ts';

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
