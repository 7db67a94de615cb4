// The SQLite store's SQL: its dialect of the shared queries (../sql.ts) and every statement it
// runs, prepared once when the store opens. Statements are run synchronously (store.ts says why).
import type { DatabaseSync } from 'node:sqlite';
import {
  commonQueries,
  type Dialect,
  HEAD_OF_KEY,
  LEASED_EVENT_COLUMNS,
  SUMMARY_COLUMNS,
} from '../sql.ts';
import { searchCondition } from './search.ts';

export const SQLITE: Dialect = {
  param: () => '?',
  // `*` globs become SQLite GLOB patterns (case-sensitive, unlike LIKE) with every other
  // special character escaped.
  typeGlob: (_n, glob) => ({
    sql: 'e.type GLOB ?',
    value: glob.replace(/[?[\]]/g, (c) => `[${c}]`),
  }),
  search: searchCondition,
};

const COMMON = commonQueries(SQLITE);

/** Every statement the store runs but listEvents' (its text depends on the filter). */
export function prepareStatements(db: DatabaseSync) {
  const prepare = (text: string) => db.prepare(text);
  // Oldest first by rowid, stopping after `limit`: a short write transaction per batch.
  const old = 'SELECT seq FROM events WHERE received_at < :before ORDER BY seq LIMIT :limit';
  return {
    // insertEvents, once per event: a duplicate changes nothing and is looked up instead.
    insertEvent: prepare(
      `INSERT INTO events (id, source, event_id, type, received_at, headers, content_type, body,
         trace_context)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source, event_id) DO NOTHING`,
    ),
    findDuplicate: prepare('SELECT id FROM events WHERE source = ? AND event_id = ?'),
    // insertEvents and replayEvent: a pending delivery, due at once
    insertDelivery: prepare(
      `INSERT INTO deliveries (id, event_seq, destination, next_at, updated_at, ordering_key)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    claim: prepare(
      `UPDATE deliveries SET lease_until = :until
       WHERE seq IN (
         SELECT seq FROM deliveries d
         WHERE status = 'pending' AND destination = :destination AND next_at <= :now
           AND (lease_until IS NULL OR lease_until <= :now) AND ${HEAD_OF_KEY}
         ORDER BY next_at, seq LIMIT :limit)
       RETURNING seq, id, event_seq, attempts`,
    ),
    leasedEvent: prepare(`SELECT ${LEASED_EVENT_COLUMNS} FROM events e WHERE e.seq = ?`),
    insertAttempt: prepare(
      `INSERT INTO attempts (delivery_seq, n, started_at, duration_ms, status_code, response, error, outcome)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    finishDelivery: prepare(
      // Only while the lease is still this one: a lease that expired and was taken again
      // belongs to the newer attempt (the older one is recorded all the same).
      `UPDATE deliveries SET attempts = ?, status = ?, next_at = ?, lease_until = NULL,
         updated_at = ?, last_error = ? WHERE seq = ? AND lease_until = ?`,
    ),
    release: prepare('UPDATE deliveries SET lease_until = NULL WHERE seq = ? AND lease_until = ?'),
    // One gateway process owns a SQLite file, so leases left by a previous process (killed
    // mid-attempt) are stale when a store opens: released rather than waited out.
    releaseAll: prepare('UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL'),
    nextDue: prepare(COMMON.nextDue),
    eventById: prepare(COMMON.eventById),
    // eventsAfter: the stream, in seq (here: commit) order, up to what is synced.
    eventsAfter: prepare(
      `SELECT ${SUMMARY_COLUMNS} FROM events e WHERE e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?`,
    ),
    maxSeq: prepare('SELECT coalesce(max(seq), 0) AS seq FROM events'),
    deliveriesOf: prepare(COMMON.deliveriesOf),
    attemptsOf: prepare(COMMON.attemptsOf),
    eventSeq: prepare(COMMON.eventSeq),
    destinationsOf: prepare(COMMON.destinationsOf),
    schemaVersion: prepare(COMMON.schemaVersion),
    /** In this order, in one transaction; the last one's count is the events'. */
    prune: [
      `DELETE FROM attempts WHERE delivery_seq IN
         (SELECT seq FROM deliveries WHERE event_seq IN (${old}))`,
      `DELETE FROM deliveries WHERE event_seq IN (${old})`,
      `DELETE FROM events WHERE seq IN (${old})`,
    ].map(prepare),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
