// Rows → the contract's types, for both dialects: the columns are the same table for table
// (sql.ts selects them). Where the drivers differ the mappers even it out: node:sqlite gives
// numbers and Uint8Array, the postgres client bigint columns as strings and bytea as Buffer.
import {
  type AttemptRecord,
  type DeliveryDetail,
  encodeCursor,
  type EventPage,
  type EventStatus,
  type EventSummary,
  type Lease,
  type StoredEvent,
} from './contract.ts';

export type Row = Record<string, unknown>;

/** A plain Uint8Array: a Buffer is one too, but deep equality and structured clones tell the
 * two apart, and callers get the same type from either dialect. */
function bytes(value: unknown): Uint8Array {
  return Buffer.isBuffer(value) ? new Uint8Array(value) : (value as Uint8Array);
}

/** Stored as JSON text: names in their original case, in order (contract.ts NewEvent). */
function headers(value: unknown): [string, string][] {
  return JSON.parse(value as string) as [string, string][];
}

const text = (value: unknown) => (value as string | null) ?? null;

/** A row of SUMMARY_COLUMNS. */
export function summary(row: Row): EventSummary {
  return {
    id: row.id as string,
    source: row.source as string,
    eventId: row.event_id as string,
    type: text(row.type),
    receivedAt: Number(row.received_at),
    size: Number(row.size),
    status: row.status as EventStatus,
  };
}

export function attemptRecord(row: Row): AttemptRecord {
  return {
    n: Number(row.n),
    startedAt: Number(row.started_at),
    durationMs: Number(row.duration_ms),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    response: text(row.response),
    error: text(row.error),
    outcome: row.outcome as AttemptRecord['outcome'],
  };
}

/**
 * An event as `getEvent` answers it, from the rows of sql.ts's `eventById`, `deliveriesOf`
 * and `attemptsOf` (attempts ordered by delivery, then number).
 */
export function storedEvent(
  row: Row,
  deliveryRows: readonly Row[],
  attemptRows: readonly Row[],
): StoredEvent {
  const attempts = new Map<string, AttemptRecord[]>();
  for (const a of attemptRows) {
    const key = String(a.delivery_seq);
    const list = attempts.get(key) ?? [];
    list.push(attemptRecord(a));
    attempts.set(key, list);
  }
  const deliveries: DeliveryDetail[] = deliveryRows.map((d) => ({
    id: d.id as string,
    destination: d.destination as string,
    status: d.status as DeliveryDetail['status'],
    nextAt: d.status === 'pending' ? Number(d.next_at) : null,
    lastError: text(d.last_error),
    attempts: attempts.get(String(d.seq)) ?? [],
  }));
  return {
    ...summary(row),
    headers: headers(row.headers),
    contentType: text(row.content_type),
    body: bytes(row.body),
    deliveries,
  };
}

/**
 * A claimed delivery as a Lease: `delivery` has the claimed row's seq, id and attempts so far,
 * `event` the LEASED_EVENT_COLUMNS of its event (one row can be both).
 */
export function lease(delivery: Row, event: Row, destination: string, leaseUntil: number): Lease {
  return {
    seq: Number(delivery.seq),
    id: delivery.id as string,
    destination,
    attempt: Number(delivery.attempts) + 1,
    leaseUntil,
    event: {
      id: event.event_id as string,
      source: event.source as string,
      type: text(event.type),
      headers: headers(event.headers),
      contentType: text(event.content_type),
      body: bytes(event.body),
      ...(typeof event.trace_context === 'string' && { traceContext: event.trace_context }),
    },
  };
}

/** A page from `listQuery`'s rows (one more than `limit` when more follow). */
/** A page of `listQuery`'s rows (one more than `limit` when more follow). `floor`: where the
 * page's walk stopped (sql.ts scanFloorQuery); a page cut short there goes on below it. */
export function pageOf(rows: readonly Row[], limit: number, floor?: number | null): EventPage {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return {
    data: page.map(summary),
    nextCursor:
      more && last
        ? encodeCursor(Number(last.seq))
        : floor !== undefined && floor !== null
          ? encodeCursor(floor)
          : null,
  };
}

/** The earlier of `nextDueSql`'s two times, or null. */
export function earliestDue(row: Row | undefined): number | null {
  const times = [row?.due, row?.expiry].filter((t) => t !== null && t !== undefined).map(Number);
  return times.length ? Math.min(...times) : null;
}
