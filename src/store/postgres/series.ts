// The PostgreSQL side of the activity counts and destination health (../series-sql.ts has the
// shared SQL). A flush of counts is one statement over arrays: atomic, and one round trip.
import type { ActivityCounts, DestinationHealth, DestinationMinute } from '../contract.ts';
import type { Row } from '../rows.ts';
import {
  ADD_DESTINATION,
  ADD_TOTALS,
  destinationHealth,
  PG_PLACEHOLDER,
  seriesQueries,
} from '../series-sql.ts';
import type { Sql } from './queries.ts';

const Q = seriesQueries(PG_PLACEHOLDER);
const prepared = { prepare: true };

/** Both tables in one statement. Rows come sorted by their key, so that two processes adding
 * to the same minutes lock them in the same order (never a deadlock). */
const ADD = `
  WITH totals AS (
    INSERT INTO stats_minute (bucket, received, delivered, failed)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])
    ON CONFLICT (bucket) DO UPDATE SET ${ADD_TOTALS})
  INSERT INTO destination_stats_minute AS t
    (destination, bucket, delivered, failed, last_error, last_error_at)
  SELECT * FROM unnest($5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[],
                       $10::bigint[])
  ON CONFLICT (destination, bucket) DO UPDATE SET ${ADD_DESTINATION}`;

export function addActivity(
  sql: Sql,
  totals: readonly ActivityCounts[],
  destinations: readonly DestinationMinute[],
) {
  const t = [...totals].sort((a, b) => a.bucket - b.bucket);
  const d = [...destinations].sort((a, b) =>
    a.destination === b.destination ? a.bucket - b.bucket : a.destination < b.destination ? -1 : 1,
  );
  return sql.unsafe(
    ADD,
    [
      t.map((x) => x.bucket),
      t.map((x) => x.received),
      t.map((x) => x.delivered),
      t.map((x) => x.failed),
      d.map((x) => x.destination),
      d.map((x) => x.bucket),
      d.map((x) => x.delivered),
      d.map((x) => x.failed),
      d.map((x) => x.lastError?.error ?? null),
      d.map((x) => x.lastError?.at ?? null),
    ] as never[],
    prepared,
  );
}

export async function activity(
  sql: Sql,
  since: number,
  until: number,
  bucketMs: number,
): Promise<ActivityCounts[]> {
  const rows: Row[] = await sql.unsafe(Q.activity, [bucketMs, since, until], prepared);
  return rows.map((r) => ({
    bucket: Number(r.bucket),
    received: Number(r.received),
    delivered: Number(r.delivered),
    failed: Number(r.failed),
  }));
}

/** Each destination's two reads, all sent at once (the client pipelines them). */
export function health(
  sql: Sql,
  destinations: readonly string[],
  now: number,
  since: number,
): Promise<DestinationHealth[]> {
  return Promise.all(
    destinations.map(async (d) => {
      const [row, minutes] = await Promise.all([
        sql.unsafe(Q.health, [d, now], prepared),
        sql.unsafe(Q.minutes, [d, since], prepared),
      ]);
      return destinationHealth(d, row[0], minutes);
    }),
  );
}

export async function prune(sql: Sql, before: number): Promise<void> {
  for (const text of Q.prune) await sql.unsafe(text, [before], prepared);
}
