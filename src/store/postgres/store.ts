// PostgreSQL through the `postgres` client (pure JS, pipelining, LISTEN with its own
// connection). Several gateway processes may share one database:
// - a group-committed batch is one statement (events and their deliveries in CTEs), so a
//   batch costs one round trip and one commit, which PostgreSQL itself groups further; the
//   NOTIFY for other processes follows on its own (notify.ts);
// - claims lease with `FOR UPDATE SKIP LOCKED`: two processes never lease the same delivery,
//   and a lease whose process died is taken again once it expires;
// - `watch` turns other processes' NOTIFYs into wake-ups for idle delivery workers.
// Its SQL is in queries.ts.
import postgres from 'postgres';
import type {
  ActivityCounts,
  AttemptRecord,
  DestinationHealth,
  DestinationMinute,
  EventFilter,
  EventPage,
  InsertOutcome,
  Lease,
  ListenerRecord,
  MigrationReport,
  NewEvent,
  Store,
  StoredEvent,
  Verdict,
  StreamPage,
} from '../contract.ts';
import { type FinishedAttempt, replayed, replayTargets } from '../deliveries.ts';
import { runMigrationsAsync } from '../migrate.ts';
import type { SearchLag } from '../search.ts';
import { earliestDue, lease, pageOf, storedEvent, summary } from '../rows.ts';
import { listQuery, scanFloorQuery } from '../sql.ts';
import { TickBatch } from '../tick-batch.ts';
import { unavailable } from '../unavailable.ts';
import { MIGRATIONS } from './migrations.ts';
import { DueNotices, type ListenOptions, type Watcher } from './notify.ts';
import * as q from './queries.ts';
import { indexSearch, searchLag } from './search.ts';
import * as listeners from './listeners.ts';
import * as series from './series.ts';

export interface PostgresOptions {
  /** Connections in the pool. Default 10. */
  pool?: number;
  /** How long to wait for a connection before a request fails (and ingest answers 503), in
   * seconds. Default 5. */
  connectTimeoutSec?: number;
  /** Ms a lone event may wait to share its batch's transaction (Store.batchLinger). Default 0. */
  batchLinger?: number;
}

/** Applies what is missing of the schema, in one transaction holding the migration lock. */
function migrate(sql: postgres.Sql): Promise<MigrationReport> {
  return sql.begin((tx) =>
    runMigrationsAsync(MIGRATIONS, { ...q.PG, lock: q.MIGRATION_LOCK }, (step) =>
      'script' in step ? tx.unsafe(step.script) : tx.unsafe(step.statement, [...step.params]),
    ),
  );
}

/** Events a search first looks through, newest first (listEvents). */
const SEARCH_WINDOW = 2000;

export class PostgresStore implements Store {
  readonly #sql: postgres.Sql;
  readonly #notices: DueNotices;
  /** Each batch is a round trip and a transaction of its own: see bench/README.md for what
   * lingering saves at a moderate load and costs at saturation. */
  readonly batchLinger: number;
  #ready: Promise<MigrationReport> | undefined;
  #reported = false;
  readonly #finished = new TickBatch<FinishedAttempt>((batch) => this.#writeFinished(batch));

  constructor(url: string, options: PostgresOptions = {}) {
    this.batchLinger = options.batchLinger ?? 0;
    const connection: ListenOptions = {
      connect_timeout: options.connectTimeoutSec ?? 5,
      // Seconds between reconnection attempts. The client's default grows to 20 s, so after
      // an outage requests went on failing that long; capped at 1 s, a gateway recovers
      // within about a second of the database.
      backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
    };
    this.#sql = postgres(url, {
      ...connection,
      max: options.pool ?? 10,
      idle_timeout: 60,
      onnotice: () => undefined,
      connection: { application_name: 'hookyard' },
    });
    this.#notices = new DueNotices(url, this.#sql, connection);
  }

  /** Migrations run once per store, before its first query; a failed run is tried again. */
  #open(): Promise<MigrationReport> {
    this.#ready ??= migrate(this.#sql).catch((error: unknown) => {
      this.#ready = undefined;
      throw unavailable('postgres', error);
    });
    return this.#ready;
  }

  /** Runs `work` once the schema is ready; any failure is the store being unavailable. */
  async #run<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    try {
      await this.#open();
      return await work(this.#sql);
    } catch (error) {
      throw unavailable('postgres', error);
    }
  }

  /** The first call reports what the migrations (run before the store's first query) applied;
   * later ones read the schema version. */
  async migrate(): Promise<MigrationReport> {
    const report = await this.#open();
    if (!this.#reported) {
      this.#reported = true;
      return report;
    }
    const [row] = await this.#run((sql) => q.common(sql, 'schemaVersion'));
    return { applied: [], version: Number(row?.version) };
  }

  async insertEvents(batch: readonly NewEvent[]): Promise<InsertOutcome[]> {
    const columns = q.insertColumns(batch);
    return this.#run(async (sql) => {
      const rows = await q.insertBatch(sql, columns);
      if (rows.length > 0) this.#notices.announce(columns.destinations);
      const stored = new Set(rows.map((r) => r.id as string));
      const outcomes: (InsertOutcome | undefined)[] = batch.map((e) =>
        stored.has(e.id) ? { id: e.id, duplicate: false } : undefined,
      );
      const dups = batch.filter((e) => !stored.has(e.id));
      if (dups.length > 0) {
        // Committed by now (ours, or another process's that our insert waited for).
        const first = await q.firstOf(sql, dups);
        const byKey = new Map(first.map((r) => [`${r.source}\n${r.event_id}`, r.id as string]));
        batch.forEach((e, i) => {
          if (outcomes[i]) return;
          const id = byKey.get(`${e.source}\n${e.eventId}`);
          if (id === undefined)
            throw new Error(`event ${e.source}/${e.eventId} neither stored nor found`);
          outcomes[i] = { id, duplicate: true };
        });
      }
      return outcomes as InsertOutcome[];
    });
  }

  async listEvents(filter: EventFilter): Promise<EventPage> {
    // Built first: a bad cursor or query is a RangeError of the caller's, not the store's. A
    // walk's query waits for its floor (scanFloorQuery has checked the cursor then).
    const scan = scanFloorQuery(filter, q.PG);
    const plan = scan ? { scan } : { whole: listQuery(filter, q.PG) };
    const first = filter.q === undefined ? undefined : listQuery(filter, q.PG, SEARCH_WINDOW);
    return this.#run((sql) =>
      sql.begin(async (tx) => {
        // Pages are read newest first: PostgreSQL, taking a filter's matches as spread evenly
        // over the table, would rather scan it all in parallel and sort (300 ms for a type in
        // the last day of 1,000,000 events) than walk the primary key down (13 ms). JIT only
        // adds ~25 ms to queries this short. (bench/api)
        await tx.unsafe('SET LOCAL enable_seqscan = off; SET LOCAL jit = off');
        if (first) {
          // A word in many events: its matches are among the newest few thousand events, and
          // checking those one by one is fast where collecting every match from the GIN index
          // is not (1.8 s for a word in every event). A rarer word fills no page so: then
          // the index it is.
          const rows = await tx.unsafe(first.text, first.params);
          if (rows.length > filter.limit) return pageOf(rows, filter.limit);
        }
        if ('whole' in plan)
          return pageOf(await tx.unsafe(plan.whole.text, plan.whole.params), filter.limit);
        const [found] = await tx.unsafe(plan.scan.text, plan.scan.params);
        const floor = found ? Number(found.seq) : null;
        const walk = listQuery(filter, q.PG, undefined, floor);
        return pageOf(await tx.unsafe(walk.text, walk.params), filter.limit, floor);
      }),
    ) as Promise<EventPage>;
  }

  async eventsAfter(cursor: string, limit: number): Promise<StreamPage> {
    const after = q.streamCursor(cursor);
    return this.#run(async (sql) => {
      const rows = await q.eventsAfter(sql, after, limit);
      const found = rows.filter((row) => row.id !== null);
      const data = found.map((row) => ({ ...summary(row), cursor: `${row.xact}.${row.seq}` }));
      const last = data.at(-1);
      if (last && data.length === limit) return { data, cursor: last.cursor };
      // Everything below the horizon was read: the next read starts there (rows of a
      // transaction with that id, should it commit, come after `.0`). Every row returned
      // lies below it, so `.0` of it is past them all.
      const h = rows[0];
      return { data, cursor: `${h?.horizon}.0` };
    });
  }

  async headCursor(): Promise<string> {
    const [row] = await this.#run((sql) => q.horizon(sql));
    return `${row?.horizon}.0`;
  }

  async getListener(name: string): Promise<ListenerRecord | undefined> {
    return this.#run((sql) => listeners.getListener(sql, name));
  }

  async ackListener(name: string, cursor: string, now: number): Promise<ListenerRecord> {
    const at = q.streamCursor(cursor); // a RangeError of the caller's, outside #run
    return this.#run((sql) => listeners.ackListener(sql, name, cursor, at, now));
  }

  async listListeners(): Promise<ListenerRecord[]> {
    return this.#run((sql) => listeners.listListeners(sql));
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    return this.#run(async (sql) => {
      const [row] = await q.common(sql, 'eventById', [id]);
      if (!row) return undefined;
      const deliveries = await q.common(sql, 'deliveriesOf', [row.seq]);
      const attempts = await q.common(sql, 'attemptsOf', [row.seq]);
      return storedEvent(row, deliveries, attempts);
    });
  }

  async claimDeliveries(
    destination: string,
    limit: number,
    now: number,
    leaseUntil: number,
  ): Promise<Lease[]> {
    const rows = await this.#run((sql) => q.claim(sql, destination, limit, now, leaseUntil));
    return rows.map((r) => lease(r, r, destination, leaseUntil));
  }

  /** Written with the others finished in the same tick, in one statement. */
  finishAttempt(lease: Lease, attempt: AttemptRecord, verdict: Verdict): Promise<void> {
    return this.#finished.add({ lease, attempt, verdict });
  }

  async #writeFinished(batch: FinishedAttempt[]): Promise<void> {
    await this.#run((sql) => q.finishBatch(sql, batch));
  }

  async releaseLeases(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    await this.#run((sql) => q.release(sql, leases));
  }

  async replayEvent(
    id: string,
    destination: string | undefined,
    now: number,
    dryRun: boolean,
  ): Promise<{ id: string | null; destination: string }[] | undefined> {
    const targets = await this.#run((sql) =>
      sql.begin(async (tx) => {
        const [event] = await q.common(tx, 'eventSeq', [id]);
        if (!event) return undefined;
        const earlier = await q.common(tx, 'destinationsOf', [event.seq]);
        const targets = replayTargets(earlier, destination, now, dryRun);
        if (!dryRun && targets.length > 0) await q.insertReplayed(tx, event.seq, targets, now);
        return targets;
      }),
    );
    if (targets === undefined) return undefined;
    // Announced once committed; a dry run created nothing.
    if (!dryRun && targets.length > 0) this.#notices.announce(targets.map((t) => t.destination));
    return replayed(targets);
  }

  /** Behind the commit, one process at a time (search.ts). */
  async indexSearch(limit: number): Promise<number | null> {
    return this.#run((sql) => indexSearch(sql, limit));
  }

  async searchLag(): Promise<SearchLag> {
    return this.#run((sql) => searchLag(sql, Date.now()));
  }

  async nextDueAt(destination: string, now: number): Promise<number | null> {
    const [row] = await this.#run((sql) =>
      q.common(sql, 'nextDue', [destination, now, destination, now]),
    );
    return earliestDue(row);
  }

  async prune(before: number, limit: number): Promise<number> {
    const rows = await this.#run((sql) => q.prune(sql, before, limit));
    return rows.count;
  }

  async addActivity(
    totals: readonly ActivityCounts[],
    destinations: readonly DestinationMinute[],
  ): Promise<void> {
    if (totals.length + destinations.length === 0) return;
    await this.#run((sql) => series.addActivity(sql, totals, destinations));
  }

  activity(since: number, until: number, bucketMs: number): Promise<ActivityCounts[]> {
    return this.#run((sql) => series.activity(sql, since, until, bucketMs));
  }

  destinationHealth(
    destinations: readonly string[],
    now: number,
    since: number,
  ): Promise<DestinationHealth[]> {
    return this.#run((sql) => series.health(sql, destinations, now, since));
  }

  pruneActivity(before: number): Promise<void> {
    return this.#run((sql) => series.prune(sql, before));
  }

  async ping(): Promise<void> {
    await this.#run(async (sql) => {
      if (await q.isStandby(sql)) throw new Error('the database is a read-only standby');
    });
  }

  watch(listener: Watcher): () => void {
    return this.#notices.watch(listener);
  }

  async close(): Promise<void> {
    await Promise.all([this.#sql.end({ timeout: 5 }), this.#notices.close()]);
  }
}
