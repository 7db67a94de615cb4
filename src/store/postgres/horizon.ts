// The PostgreSQL stream's horizon, shared by the stream (queries.ts) and the search indexer.
/**
 * The stream's horizon, in the statement's own snapshot: the oldest transaction of this
 * database still running (else the snapshot's xmax). Every transaction below it has ended, so
 * no row can still appear below it. Transactions of other databases in the cluster are left
 * out (pg_stat_activity names a running xid's database; one it does not show counts, which
 * only delays): a long transaction elsewhere must not hold this stream back.
 */
export const HORIZON = `(SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot()))
    FROM pg_snapshot_xip(pg_current_snapshot()) AS x
    WHERE (x::text::numeric % 4294967296)::text NOT IN (
      SELECT backend_xid::text FROM pg_stat_activity
      WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()))`;
