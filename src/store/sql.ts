// SQL both dialects share: the schema is the same table for table, so the queries that read it
// are too, except for what a dialect spells its own way (placeholders, globs): its `Dialect`,
// in the manner of kysely's dialect adapters. Rows are mapped in rows.ts.
import { decodeCursor, type EventFilter } from './contract.ts';
import { parseSearch, type SearchQuery } from './search.ts';

export interface Dialect {
  /** The placeholder for the n-th parameter (1-based). */
  param(n: number): string;
  /** A condition matching `type` against a `*` glob bound as parameter n, and the value to bind. */
  typeGlob(n: number, glob: string): { sql: string; value: string };
  /** A condition on `e.seq`: the event is indexed under every word of the query, bound as
   * parameter n (sqlite/search.ts, postgres/search.ts). */
  search(n: number, query: SearchQuery): SearchClause;
  /** The same condition checked one event at a time (`e.seq` given), for a window of the
   * newest events (listQuery's `window`). */
  searchRow?(n: number, query: SearchQuery): { sql: string; value: string };
  /** Whether a status filter reads its candidate events newest first and stops at the page's
   * end (PostgreSQL keeps the order through the join); SQLite sorts after the join either
   * way, and does better with `e.seq IN (candidates)` (listQuery). */
  orderedCandidates?: boolean;
}

export interface SearchClause {
  /** A condition (on `e`, or on the search table when `from` is given). */
  sql: string;
  value: string;
  /** A FROM that reads the search table first, in the order of `seq`, an expression equal to
   * `e.seq`: a page of a common word then stops after the page instead of collecting every
   * match (sqlite/search.ts). */
  from?: string;
  seq?: string;
}

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

/** An event's summary (rows.ts `summary`), from `events e`. */
export const SUMMARY_COLUMNS = `e.seq, e.id, e.source, e.event_id, e.type, e.received_at, length(e.body) AS size, ${STATUS_SQL}`;

/** What a worker needs of a claimed delivery's event (rows.ts `lease`), from `events e`. */
export const LEASED_EVENT_COLUMNS =
  'e.id AS event_id, e.source, e.type, e.headers, e.content_type, e.body, e.trace_context';

/** The statements both dialects run as written, in the dialect's placeholders. */
export function commonQueries(dialect: Pick<Dialect, 'param'>) {
  const p = dialect.param;
  return {
    /** getEvent: the event (rows.ts `storedEvent`), its deliveries, and their attempts. */
    eventById: `SELECT ${SUMMARY_COLUMNS}, e.headers, e.content_type, e.body FROM events e
      WHERE e.id = ${p(1)}`,
    deliveriesOf: `SELECT seq, id, destination, status, next_at, last_error FROM deliveries
      WHERE event_seq = ${p(1)} ORDER BY seq`,
    attemptsOf: `SELECT delivery_seq, n, started_at, duration_ms, status_code, response, error,
        outcome
      FROM attempts WHERE delivery_seq IN (SELECT seq FROM deliveries WHERE event_seq = ${p(1)})
      ORDER BY delivery_seq, n`,
    /** replayEvent: the event, and the destinations it has had deliveries to (deliveries.ts
     * `replayTargets`). */
    eventSeq: `SELECT seq FROM events WHERE id = ${p(1)}`,
    destinationsOf: `SELECT destination, max(ordering_key) AS ordering_key FROM deliveries
      WHERE event_seq = ${p(1)} GROUP BY destination ORDER BY destination`,
    /** migrate, once the migrations have run: the schema version now. */
    schemaVersion: 'SELECT coalesce(max(version), 0) AS version FROM schema_migrations',
    nextDue: nextDueSql(dialect),
  };
}

/**
 * `nextDueAt`: when the destination's earliest unleased pending delivery falls due (the head
 * of its ordering key), and when its earliest lease runs out — a lease whose worker died or
 * could not record its outcome makes its delivery claimable then, and nothing else wakes a
 * worker for it. Parameters: destination, now, destination, now. Ordered by the partial index
 * and stopped at the first match: a min() over every pending row made each sleep cost as much
 * as the backlog was long. Read with rows.ts `earliestDue`.
 */
function nextDueSql(dialect: Pick<Dialect, 'param'>): string {
  const p = dialect.param;
  return `SELECT
    (SELECT d.next_at FROM deliveries d
     WHERE d.status = 'pending' AND d.destination = ${p(1)}
       AND (d.lease_until IS NULL OR d.lease_until <= ${p(2)}) AND ${HEAD_OF_KEY}
     ORDER BY d.next_at LIMIT 1) AS due,
    (SELECT min(l.lease_until) FROM deliveries l
     WHERE l.destination = ${p(3)} AND l.lease_until > ${p(4)} AND l.status = 'pending') AS expiry`;
}

/** The deliveries that may make an event's status this one, from their partial indexes:
 * every event whose status is this has such a delivery (STATUS_SQL). */
const STATUS_CANDIDATES: Partial<Record<NonNullable<EventFilter['status']>, string>> = {
  dead: `status = 'dead'`,
  failing: `status = 'pending' AND attempts > 0`,
  pending: `status = 'pending'`,
};

/** Most events a list page walks through to find its matches (`scanFloorQuery`). 5,000: on
 * 1,000,000 events a walk that finds nothing takes ~7 ms on SQLite and ~17 ms on PostgreSQL
 * (10,000: 13 and 36 ms; bench/api). */
export const SCAN_BUDGET = 5_000;

/**
 * A page filtered by what no index finds (type, time, a status read per event) walks the
 * events newest first, and one that matches little would walk them all: on 1,000,000 events
 * a type no event has took 14 s on SQLite, the event loop blocked all along, and `until` 20
 * days back 24 s (bench/api). So a page walks at most SCAN_BUDGET events: this query finds
 * the seq the walk stops at (null when fewer remain), listQuery takes it as `floor`, and a
 * page cut short by it still gets a next_cursor, from which the next page walks on. Undefined
 * when the filter needs no walk (an index or the search drives it).
 */
export function scanFloorQuery(
  filter: EventFilter,
  dialect: Pick<Dialect, 'param'>,
): { text: string; params: (string | number)[] } | undefined {
  const candidates = filter.status !== undefined && STATUS_CANDIDATES[filter.status] !== undefined;
  const walked =
    filter.type !== undefined ||
    filter.since !== undefined ||
    filter.until !== undefined ||
    filter.status !== undefined;
  if (!walked || candidates || filter.q !== undefined) return undefined;
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.source !== undefined) {
    params.push(filter.source);
    where.push(`source = ${dialect.param(params.length)}`);
  }
  if (filter.cursor !== undefined) {
    const before = decodeCursor(filter.cursor);
    if (before === undefined) throw new RangeError('cursor is not one this server gave out');
    params.push(before);
    where.push(`seq < ${dialect.param(params.length)}`);
  }
  params.push(SCAN_BUDGET - 1);
  return {
    text: `SELECT seq FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY seq DESC LIMIT 1 OFFSET ${dialect.param(params.length)}`,
    params,
  };
}

/** `GET /api/events`: newest first, one row more than the page to know whether more follow
 * (rows.ts `pageOf`). A cursor this server did not give out is a RangeError, thrown before
 * the store is asked anything (the API answers 400 for it). */
export function listQuery(
  filter: EventFilter,
  dialect: Dialect,
  /** With `q` and a dialect that has `searchRow`: look for matches among the newest `window`
   * events of the other filters only (PostgreSQL's first try, store.ts). */
  window?: number,
  /** The lowest seq the page may walk down to (scanFloorQuery). */
  floor?: number | null,
): { text: string; params: (string | number)[] } {
  const where: string[] = [];
  /** Conditions applied after the window, when there is one. */
  const outer: string[] = [];
  const windowed = window !== undefined && filter.q !== undefined && dialect.searchRow;
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
  let from = 'events e';
  let seq = 'e.seq';
  if (windowed && filter.q !== undefined) {
    const search = (dialect.searchRow as NonNullable<Dialect['searchRow']>)(
      params.length + 1,
      parseSearch(filter.q),
    );
    params.push(search.value);
    outer.push(search.sql);
  } else if (filter.q !== undefined) {
    const search = dialect.search(params.length + 1, parseSearch(filter.q));
    params.push(search.value);
    where.push(search.sql);
    if (search.from !== undefined && search.seq !== undefined) {
      from = search.from;
      seq = search.seq;
    }
  }
  // A status that few events have is found from the deliveries that make it, not by computing
  // every event's status newest first: on 1,000,000 events `status=dead` read ~10,000 events
  // for a page, and a status no event has read them all (SQLite: 24 -> 10 ms). On PostgreSQL
  // the candidates are read newest first and the walk stops at the page's end: computing the
  // status of all 5,000 dead candidates first took 63 ms, this 8 ms (bench/api). The outer WHERE still decides: a
  // replay may have superseded the delivery that made an event a candidate.
  const candidates = filter.status === undefined ? undefined : STATUS_CANDIDATES[filter.status];
  if (candidates && filter.q === undefined && dialect.orderedCandidates) {
    from = `(SELECT DISTINCT event_seq AS seq FROM deliveries WHERE ${candidates}
        ORDER BY event_seq DESC) c JOIN events e ON e.seq = c.seq`;
    seq = 'c.seq';
  } else if (candidates) {
    where.push(`e.seq IN (SELECT event_seq FROM deliveries WHERE ${candidates})`);
  }
  if (filter.since !== undefined) where.push(`e.received_at >= ${bind(filter.since)}`);
  if (filter.until !== undefined) where.push(`e.received_at < ${bind(filter.until)}`);
  if (filter.cursor !== undefined) {
    const before = decodeCursor(filter.cursor);
    if (before === undefined) throw new RangeError('cursor is not one this server gave out');
    where.push(`${seq} < ${bind(before)}`);
  }
  if (floor !== undefined && floor !== null) where.push(`e.seq >= ${bind(floor)}`);
  const status = filter.status === undefined ? '' : `WHERE status = ${bind(filter.status)}`;
  if (windowed) {
    from = `(SELECT * FROM events e ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY e.seq DESC LIMIT ${bind(window)}) e`;
    where.length = 0;
    where.push(...outer);
  }
  const text = `SELECT * FROM (
      SELECT ${seq === 'e.seq' ? SUMMARY_COLUMNS : SUMMARY_COLUMNS.replace(/^e\.seq,/, `${seq} AS seq,`)}
      FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${seq} DESC) page
    ${status} ORDER BY seq DESC LIMIT ${bind(filter.limit + 1)}`;
  return { text, params };
}
