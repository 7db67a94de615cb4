// SQL and row mapping both dialects share: the schema is the same table for table, so the
// queries that read it are too, except where a dialect's syntax differs (placeholders, globs).
import {
  type AttemptRecord,
  decodeCursor,
  encodeCursor,
  type EventFilter,
  type EventPage,
  type EventStatus,
  type EventSummary,
  type Lease,
  type Verdict,
} from './contract.ts';

export type Row = Record<string, unknown>;

/** Only the oldest pending delivery of an ordering key may be attempted (or waited for). */
export const HEAD_OF_KEY = `(d.ordering_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM deliveries o
    WHERE o.status = 'pending' AND o.destination = d.destination
      AND o.ordering_key = d.ordering_key AND o.seq < d.seq))`;

/** The event's status from its newest delivery per destination (contract.ts: EventStatus). */
export const STATUS_SQL = `(SELECT CASE
    WHEN count(*) = 0 THEN 'received'
    WHEN count(*) FILTER (WHERE d.status = 'dead') > 0 THEN 'dead'
    WHEN count(*) FILTER (WHERE d.status = 'pending' AND d.attempts > 0) > 0 THEN 'failing'
    WHEN count(*) FILTER (WHERE d.status = 'pending') > 0 THEN 'pending'
    ELSE 'delivered' END
  FROM deliveries d WHERE d.event_seq = e.seq
    -- a replay adds a newer delivery per destination; only the newest counts
    AND d.seq = (SELECT max(d2.seq) FROM deliveries d2
                 WHERE d2.event_seq = e.seq AND d2.destination = d.destination)) AS status`;

export const SUMMARY_COLUMNS = `e.seq, e.id, e.source, e.event_id, e.type, e.received_at, length(e.body) AS size, ${STATUS_SQL}`;

export function summary(row: Row): EventSummary {
  return {
    id: row.id as string,
    source: row.source as string,
    eventId: row.event_id as string,
    type: (row.type as string | null) ?? null,
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
    response: (row.response as string | null) ?? null,
    error: (row.error as string | null) ?? null,
    outcome: row.outcome as AttemptRecord['outcome'],
  };
}

/** The last error a delivery shows after an attempt with this outcome. */
export function lastError(
  attempt: AttemptRecord,
  verdict: { status: string; reason?: string },
): string | null {
  if (verdict.status === 'dead') return verdict.reason ?? null;
  if (verdict.status === 'pending') return attempt.error ?? `HTTP ${attempt.statusCode}`;
  return null;
}

/**
 * `nextDueAt`: when the destination's earliest unleased pending delivery falls due (the head
 * of its ordering key), and when its earliest lease runs out — a lease whose worker died or
 * could not record its outcome makes its delivery claimable then, and nothing else wakes a
 * worker for it. Parameters: destination, now, destination, now.
 */
export function nextDueSql(dialect: Pick<Dialect, 'param'>): string {
  const p = dialect.param;
  return `SELECT
    (SELECT d.next_at FROM deliveries d
     WHERE d.status = 'pending' AND d.destination = ${p(1)}
       AND (d.lease_until IS NULL OR d.lease_until <= ${p(2)}) AND ${HEAD_OF_KEY}
     ORDER BY d.next_at LIMIT 1) AS due,
    (SELECT min(l.lease_until) FROM deliveries l
     WHERE l.destination = ${p(3)} AND l.lease_until > ${p(4)} AND l.status = 'pending') AS expiry`;
}

/** The earlier of `nextDueSql`'s two times, or null. */
export function earliestDue(row: Row | undefined): number | null {
  const times = [row?.due, row?.expiry].filter((t) => t !== null && t !== undefined).map(Number);
  return times.length ? Math.min(...times) : null;
}

/** `next_at` after an attempt: the retry's time, or (delivered, dead) the attempt's. */
export function nextAtAfter(attempt: AttemptRecord, verdict: Verdict): number {
  return verdict.status === 'pending' ? verdict.nextAt : attempt.startedAt;
}

/** What finishAttempt queues for the next batched write (src/store/tick-batch.ts). */
export interface FinishedAttempt {
  lease: Lease;
  attempt: AttemptRecord;
  verdict: Verdict;
}

export interface Dialect {
  /** The placeholder for the n-th parameter (1-based). */
  param(n: number): string;
  /** A condition matching `type` against a `*` glob bound as parameter n, and the value to bind. */
  typeGlob(n: number, glob: string): { sql: string; value: string };
}

/** `GET /api/events`: newest first, one row more than the page to know whether more follow. */
export function listQuery(
  filter: EventFilter,
  dialect: Dialect,
): { text: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const bind = (value: string | number) => {
    params.push(value);
    return dialect.param(params.length);
  };
  if (filter.source !== undefined) where.push(`e.source = ${bind(filter.source)}`);
  if (filter.type !== undefined) {
    if (filter.type.includes('*')) {
      const glob = dialect.typeGlob(params.length + 1, filter.type);
      params.push(glob.value);
      where.push(glob.sql);
    } else where.push(`e.type = ${bind(filter.type)}`);
  }
  if (filter.since !== undefined) where.push(`e.received_at >= ${bind(filter.since)}`);
  if (filter.until !== undefined) where.push(`e.received_at < ${bind(filter.until)}`);
  if (filter.cursor !== undefined) {
    const seq = decodeCursor(filter.cursor);
    if (seq === undefined) throw new RangeError('cursor is not one this server gave out');
    where.push(`e.seq < ${bind(seq)}`);
  }
  const status = filter.status === undefined ? '' : `WHERE status = ${bind(filter.status)}`;
  const text = `SELECT * FROM (
      SELECT ${SUMMARY_COLUMNS}
      FROM events e ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY e.seq DESC) page
    ${status} ORDER BY seq DESC LIMIT ${bind(filter.limit + 1)}`;
  return { text, params };
}

/** A page from `listQuery`'s rows (one more than `limit` when more follow). */
export function pageOf(rows: readonly Row[], limit: number): EventPage {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return {
    data: page.map(summary),
    nextCursor: more && last ? encodeCursor(Number(last.seq)) : null,
  };
}
