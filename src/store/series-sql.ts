// The SQL of the activity counts (series.ts) and of destination health, for both dialects: the
// same statements in each dialect's numbered placeholders, except the adding write, which
// SQLite runs per row in a transaction and PostgreSQL as one statement over arrays. Rows are
// mapped here too.
//
// Every read goes through an index and touches what it counts, never the whole store:
// - stats_minute: one row a minute, read by its primary key (bucket) for the window;
// - destination_stats_minute: one row a minute per destination, by (destination, bucket);
//   its newest error through a partial index of the minutes that had one;
// - the queue: `deliveries_due` for the pending count and the oldest pending delivery (its
//   smallest seq, in the index on both dialects), `deliveries_leased` for what is in flight,
//   `deliveries_dead` for the dead count — partial indexes, as big as the backlog, not the
//   table. No index was added to the write path but `deliveries_dead`, written only when a
//   delivery dies.
import type { DestinationHealth, DestinationMinute } from './contract.ts';
import type { Row } from './rows.ts';

/** The n-th parameter (1-based), repeatable: `?n` in SQLite, `$n` in PostgreSQL. */
export type Placeholder = (n: number) => string;
export const SQLITE_PLACEHOLDER: Placeholder = (n) => `?${n}`;
export const PG_PLACEHOLDER: Placeholder = (n) => `$${n}`;

/** ON CONFLICT's additions: counts add up; a minute keeps its newest error. */
export const ADD_TOTALS = `received = stats_minute.received + excluded.received,
  delivered = stats_minute.delivered + excluded.delivered,
  failed = stats_minute.failed + excluded.failed`;
export const ADD_DESTINATION = `delivered = t.delivered + excluded.delivered,
  failed = t.failed + excluded.failed,
  last_error = CASE WHEN excluded.last_error_at >= coalesce(t.last_error_at, 0)
    THEN excluded.last_error ELSE t.last_error END,
  last_error_at = CASE WHEN excluded.last_error_at >= coalesce(t.last_error_at, 0)
    THEN excluded.last_error_at ELSE t.last_error_at END`;

export function seriesQueries(p: Placeholder) {
  return {
    /** Parameters: bucket ms, since, until. `%`, not `/`: node:sqlite may bind a number as a
     * REAL, and `/` would not truncate then. */
    activity: `SELECT bucket - bucket % ${p(1)} AS bucket, sum(received) AS received,
        sum(delivered) AS delivered, sum(failed) AS failed
      FROM stats_minute WHERE bucket >= ${p(2)} AND bucket < ${p(3)}
      GROUP BY 1 ORDER BY 1`,
    /** One row per destination. Parameters: destination, now. */
    health: `SELECT q.pending,
      (SELECT id FROM deliveries WHERE seq = q.first) AS oldest,
      -- a lease is only ever held on a pending delivery (finishing one clears it)
      (SELECT count(*) FROM deliveries
       WHERE destination = ${p(1)} AND lease_until > ${p(2)}) AS in_flight,
      (SELECT count(*) FROM deliveries
       WHERE status = 'dead' AND destination = ${p(1)}) AS dead,
      (SELECT last_error FROM destination_stats_minute
       WHERE destination = ${p(1)} AND last_error IS NOT NULL
       ORDER BY bucket DESC LIMIT 1) AS last_error,
      (SELECT last_error_at FROM destination_stats_minute
       WHERE destination = ${p(1)} AND last_error IS NOT NULL
       ORDER BY bucket DESC LIMIT 1) AS last_error_at
      FROM (SELECT count(*) AS pending, min(seq) AS first FROM deliveries
            WHERE status = 'pending' AND destination = ${p(1)}) q`,
    /** Parameters: destination, since. */
    minutes: `SELECT destination, bucket, delivered, failed, last_error, last_error_at
      FROM destination_stats_minute WHERE destination = ${p(1)} AND bucket >= ${p(2)}
      ORDER BY bucket`,
    /** Parameter: before. */
    prune: [
      `DELETE FROM stats_minute WHERE bucket < ${p(1)}`,
      `DELETE FROM destination_stats_minute WHERE bucket < ${p(1)}`,
    ],
  };
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** When a delivery was created: its id's first 10 characters after `hyd_` are that time in
 * ms, in Crockford base32 (src/ids.ts). The table has no column of its own for it, and a
 * replay's delivery is younger than its event. Null for an id not made so. */
export function createdAt(id: string): number | null {
  const time = /^hy[a-z]_([0-9A-HJKMNP-TV-Z]{10})/.exec(id)?.[1];
  if (time === undefined) return null;
  let ms = 0;
  for (const c of time) ms = ms * 32 + ALPHABET.indexOf(c);
  return ms;
}

const errorOf = (row: Row) =>
  row.last_error === null || row.last_error === undefined
    ? null
    : { error: row.last_error as string, at: Number(row.last_error_at) };

/** A row of `minutes`. */
export function destinationMinute(row: Row): DestinationMinute {
  return {
    destination: row.destination as string,
    bucket: Number(row.bucket),
    delivered: Number(row.delivered),
    failed: Number(row.failed),
    lastError: errorOf(row),
  };
}

/** A destination's `health` row and its `minutes` rows. */
export function destinationHealth(
  destination: string,
  row: Row | undefined,
  minutes: readonly Row[],
): DestinationHealth {
  const pending = Number(row?.pending ?? 0);
  const inFlight = Number(row?.in_flight ?? 0);
  const oldest = row?.oldest;
  return {
    destination,
    pending: Math.max(0, pending - inFlight),
    inFlight,
    oldestPendingAt: typeof oldest === 'string' ? createdAt(oldest) : null,
    dead: Number(row?.dead ?? 0),
    minutes: minutes.map(destinationMinute),
    lastError: row ? errorOf(row) : null,
  };
}
