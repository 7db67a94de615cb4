// The SQLite side of the activity counts and destination health (../series-sql.ts has the
// shared SQL), prepared once when the store opens. Run synchronously, as every statement of
// this store is (store.ts says why).
import type { DatabaseSync } from 'node:sqlite';
import type { ActivityCounts, DestinationHealth, DestinationMinute } from '../contract.ts';
import {
  ADD_DESTINATION,
  ADD_TOTALS,
  destinationHealth,
  seriesQueries,
  SQLITE_PLACEHOLDER,
} from '../series-sql.ts';
import { transaction } from './transaction.ts';

export function prepareSeries(db: DatabaseSync) {
  const q = seriesQueries(SQLITE_PLACEHOLDER);
  const addTotals = db.prepare(
    `INSERT INTO stats_minute (bucket, received, delivered, failed) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (bucket) DO UPDATE SET ${ADD_TOTALS}`,
  );
  const addDestination = db.prepare(
    `INSERT INTO destination_stats_minute AS t
       (destination, bucket, delivered, failed, last_error, last_error_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (destination, bucket) DO UPDATE SET ${ADD_DESTINATION}`,
  );
  const activity = db.prepare(q.activity);
  const health = db.prepare(q.health);
  const minutes = db.prepare(q.minutes);
  const prune = q.prune.map((text) => db.prepare(text));
  return {
    add(totals: readonly ActivityCounts[], destinations: readonly DestinationMinute[]): void {
      transaction(db, () => {
        for (const t of totals) addTotals.run(t.bucket, t.received, t.delivered, t.failed);
        for (const d of destinations) {
          addDestination.run(
            d.destination,
            d.bucket,
            d.delivered,
            d.failed,
            d.lastError?.error ?? null,
            d.lastError?.at ?? null,
          );
        }
      });
    },
    activity(since: number, until: number, bucketMs: number): ActivityCounts[] {
      return activity.all(bucketMs, since, until).map((r) => ({
        bucket: Number(r.bucket),
        received: Number(r.received),
        delivered: Number(r.delivered),
        failed: Number(r.failed),
      }));
    },
    health(destinations: readonly string[], now: number, since: number): DestinationHealth[] {
      return destinations.map((d) =>
        destinationHealth(d, health.get(d, now), minutes.all(d, since)),
      );
    },
    prune(before: number): void {
      transaction(db, () => {
        for (const statement of prune) statement.run(before);
      });
    },
  };
}

export type SeriesStatements = ReturnType<typeof prepareSeries>;
