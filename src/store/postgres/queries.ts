// The PostgreSQL store's SQL, one function per operation (graphile-worker's src/sql/ is the
// model): its dialect of the shared queries (../sql.ts) and the statements of its own. Batches
// travel as arrays, unnested server-side, so a batch of any size is one statement with a fixed
// text, prepared once per connection.
import type postgres from 'postgres';
import { newId } from '../../ids.ts';
import type { Lease, NewEvent } from '../contract.ts';
import { type FinishedAttempt, lastError, nextAtAfter, type ReplayTarget } from '../deliveries.ts';
import type { Row } from '../rows.ts';
import {
  commonQueries,
  type Dialect,
  HEAD_OF_KEY,
  LEASED_EVENT_COLUMNS,
  SUMMARY_COLUMNS,
} from '../sql.ts';
import { HORIZON } from './horizon.ts';
import { searchCondition, searchRowCondition } from './search.ts';

export type Sql = postgres.Sql | postgres.TransactionSql;

export const PG: Dialect = {
  param: (n) => `$${n}`,
  // `*` globs become LIKE patterns; LIKE's own wildcards and escape are matched literally.
  typeGlob: (n, glob) => ({
    sql: `e.type LIKE $${n} ESCAPE '\\'`,
    value: glob.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('*', '%'),
  }),
  search: searchCondition,
  searchRow: searchRowCondition,
  orderedCandidates: true,
};

const COMMON = commonQueries(PG);
const prepared = { prepare: true };

/** Any value works as long as every Hookyard process uses it: "hookyard" in ASCII. Held until
 * the migrating transaction ends, so a second process starting then waits, then finds every
 * migration recorded. */
export const MIGRATION_LOCK = `SELECT pg_advisory_xact_lock(${0x686f6f6b79617264n}::bigint)`;

/** A batch of events with their deliveries, in one statement. Events that conflict with a
 * stored (source, event_id) — or with one earlier in the same batch — are skipped, and so are
 * their deliveries. No NOTIFY in here: see notify.ts. */
const INSERT_BATCH = `
  WITH ins AS (
    INSERT INTO events (id, source, event_id, type, received_at, headers, content_type, body,
                        trace_context)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                         $6::text[], $7::text[], $8::bytea[], $14::text[])
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING seq, id),
  dl AS (
    INSERT INTO deliveries (id, event_seq, destination, next_at, updated_at, ordering_key)
    SELECT d.id, ins.seq, d.destination, d.at, d.at, d.ordering_key
    FROM unnest($9::text[], $10::text[], $11::text[], $12::bigint[], $13::text[])
           AS d(id, event, destination, at, ordering_key)
    JOIN ins ON ins.id = d.event)
  SELECT ins.id FROM ins`;

/** INSERT_BATCH's parameters, column by column, and the destinations its deliveries go to.
 * Built before the store is asked anything. */
export function insertColumns(batch: readonly NewEvent[]) {
  const cols = {
    id: [] as string[],
    source: [] as string[],
    eventId: [] as string[],
    type: [] as (string | null)[],
    receivedAt: [] as number[],
    headers: [] as string[],
    contentType: [] as (string | null)[],
    body: [] as Buffer[],
    traceContext: [] as (string | null)[],
  };
  const del = {
    id: [] as string[],
    event: [] as string[],
    destination: [] as string[],
    at: [] as number[],
    orderingKey: [] as (string | null)[],
  };
  const destinations = new Set<string>();
  for (const e of batch) {
    cols.id.push(e.id);
    cols.source.push(e.source);
    cols.eventId.push(e.eventId);
    cols.type.push(e.type);
    cols.receivedAt.push(e.receivedAt);
    cols.headers.push(JSON.stringify(e.headers));
    cols.contentType.push(e.contentType);
    cols.body.push(Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength));
    cols.traceContext.push(e.traceContext ?? null);
    for (const d of e.destinations) {
      del.id.push(newId('hyd', e.receivedAt));
      del.event.push(e.id);
      del.destination.push(d.destination);
      del.at.push(e.receivedAt);
      del.orderingKey.push(d.orderingKey);
      destinations.add(d.destination);
    }
  }
  return { cols, del, destinations };
}

/** The ids of the events stored (the others were duplicates). */
export function insertBatch(sql: Sql, { cols, del }: ReturnType<typeof insertColumns>) {
  return sql.unsafe(
    INSERT_BATCH,
    [
      cols.id,
      cols.source,
      cols.eventId,
      cols.type,
      cols.receivedAt,
      cols.headers,
      cols.contentType,
      // typed explicitly: an array of Buffers would go as one bytea
      sql.array(cols.body),
      del.id,
      del.event,
      del.destination,
      del.at,
      del.orderingKey,
      cols.traceContext,
    ] as never[],
    prepared,
  );
}

/** The stored events that `events` duplicate: id, source and event_id of each. */
export function firstOf(sql: Sql, events: readonly NewEvent[]) {
  return sql`
    SELECT e.id, e.source, e.event_id FROM events e
    JOIN unnest(${events.map((e) => e.source)}::text[], ${events.map((e) => e.eventId)}::text[])
      AS k(source, event_id) ON e.source = k.source AND e.event_id = k.event_id`;
}

/** Claimed deliveries joined with their events: rows for rows.ts `lease` (as both rows).
 * `FOR UPDATE SKIP LOCKED`: two processes never lease the same delivery. */
const CLAIM = `
  WITH claimed AS (
    UPDATE deliveries SET lease_until = $4
    FROM (SELECT d.seq FROM deliveries d
          WHERE d.status = 'pending' AND d.destination = $1 AND d.next_at <= $2
            AND (d.lease_until IS NULL OR d.lease_until <= $2) AND ${HEAD_OF_KEY}
          ORDER BY d.next_at, d.seq LIMIT $3
          FOR UPDATE SKIP LOCKED) due
    WHERE deliveries.seq = due.seq
    RETURNING deliveries.seq, deliveries.id, deliveries.event_seq, deliveries.attempts)
  SELECT c.seq, c.id, c.attempts, ${LEASED_EVENT_COLUMNS}
  FROM claimed c JOIN events e ON e.seq = c.event_seq
  ORDER BY c.seq`;

export function claim(
  sql: Sql,
  destination: string,
  limit: number,
  now: number,
  leaseUntil: number,
): Promise<Row[]> {
  return sql.unsafe(CLAIM, [destination, now, limit, leaseUntil], prepared);
}

const FINISH_BATCH = `
  WITH a AS (
    INSERT INTO attempts (delivery_seq, n, started_at, duration_ms, status_code, response, error, outcome)
    SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::int[], $5::int[],
                         $6::text[], $7::text[], $8::text[]))
  UPDATE deliveries d
  SET attempts = u.n, status = u.status, next_at = u.next_at, lease_until = NULL,
      updated_at = $9, last_error = u.last_error
  FROM unnest($1::bigint[], $2::int[], $10::text[], $11::bigint[], $12::text[], $13::bigint[])
         AS u(seq, n, status, next_at, last_error, lease_until)
  -- only while the lease is still this one: one that expired and was taken again belongs to
  -- the newer attempt (the older attempt is recorded all the same)
  WHERE d.seq = u.seq AND d.lease_until = u.lease_until`;

/** Records the attempts and moves their deliveries on, in one statement. */
export function finishBatch(sql: Sql, batch: readonly FinishedAttempt[]) {
  const a = batch.map((f) => f.attempt);
  return sql.unsafe(
    FINISH_BATCH,
    [
      batch.map((f) => f.lease.seq),
      a.map((x) => x.n),
      a.map((x) => x.startedAt),
      a.map((x) => x.durationMs),
      a.map((x) => x.statusCode),
      a.map((x) => x.response),
      a.map((x) => x.error),
      a.map((x) => x.outcome),
      Date.now(),
      batch.map((f) => f.verdict.status),
      batch.map((f) => nextAtAfter(f.attempt, f.verdict)),
      batch.map((f) => lastError(f.attempt, f.verdict)),
      batch.map((f) => f.lease.leaseUntil),
    ] as never[],
    prepared,
  );
}

export function release(sql: Sql, leases: readonly Lease[]) {
  return sql`
    UPDATE deliveries d SET lease_until = NULL
    FROM unnest(${leases.map((l) => l.seq)}::bigint[], ${leases.map((l) => l.leaseUntil)}::bigint[])
      AS l(seq, lease_until)
    WHERE d.seq = l.seq AND d.lease_until = l.lease_until`;
}

/** The deliveries a replay creates (deliveries.ts `replayTargets`), due at once. */
export function insertReplayed(
  sql: Sql,
  eventSeq: unknown,
  targets: readonly ReplayTarget[],
  now: number,
) {
  return sql`
    INSERT INTO deliveries (id, event_seq, destination, next_at, updated_at, ordering_key)
    SELECT t.id, ${eventSeq as string}, t.destination, ${now}, ${now}, t.ordering_key
    FROM unnest(${targets.map((t) => t.id as string)}::text[],
                ${targets.map((t) => t.destination)}::text[],
                ${targets.map((t) => t.orderingKey)}::text[])
      AS t(id, destination, ordering_key)`;
}

/** Row locks on old rows only, oldest first by primary key, in a short transaction; rows another
 * process is pruning right now are skipped rather than waited for. Deliveries and attempts go
 * by ON DELETE CASCADE. */
export function prune(sql: Sql, before: number, limit: number) {
  return sql`
    DELETE FROM events WHERE seq IN (
      SELECT seq FROM events WHERE received_at < ${before}
      ORDER BY seq LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
}

/** Reachable and writable: a standby in recovery would refuse every commit. */
export async function isStandby(sql: Sql): Promise<boolean> {
  const [row] = await sql`SELECT pg_is_in_recovery() AS standby`;
  return Boolean(row?.standby);
}

/** One of the shared queries (../sql.ts `commonQueries`), prepared. */
export function common(
  sql: Sql,
  name: keyof typeof COMMON,
  params: readonly unknown[] = [],
): Promise<Row[]> {
  return sql.unsafe(COMMON[name], params as never[], prepared);
}

/** A stream cursor here: `<xact>.<seq>` (the inserting transaction's id, then seq). */
export function streamCursor(cursor: string): { xact: string; seq: string } {
  const m = /^(\d{1,20})\.(\d{1,19})$/.exec(cursor);
  if (!m) throw new RangeError('cursor is not a stream cursor');
  return { xact: m[1] as string, seq: m[2] as string };
}

/** eventsAfter: rows past the cursor in (xact, seq) order, only of transactions below the
 * horizon — those can no longer commit, so nothing can land behind. */
export function eventsAfter(sql: Sql, cursor: { xact: string; seq: string }, limit: number) {
  return sql.unsafe(
    // One statement, one snapshot: the horizon and the rows below it are read together (a
    // second statement for the horizon could pass a transaction that committed in between).
    // The LEFT JOIN keeps one row carrying the horizon when no event is found.
    `WITH h AS (SELECT ${HORIZON} AS horizon)
      SELECT e.*, h.horizon::text AS horizon FROM h LEFT JOIN LATERAL (
        SELECT ${SUMMARY_COLUMNS}, e.xact::text AS xact
        FROM events e
        WHERE (e.xact, e.seq) > ($1::text::xid8, $2::bigint) AND e.xact < h.horizon
        ORDER BY e.xact, e.seq LIMIT $3) e ON true`,
    [cursor.xact, cursor.seq, limit],
  );
}

/** headCursor and a read that found nothing: every row below the horizon is past. */
export function horizon(sql: Sql) {
  return sql.unsafe(`SELECT ${HORIZON}::text AS horizon`);
}
