// The embedded default: SQLite through node:sqlite (no native addon), in WAL mode. Statements
// run synchronously on the main thread (measured faster than a worker thread, docs/baselines.md);
// the fsync that makes a commit durable runs off it (wal-sync.ts), shared by whole batches,
// and so do checkpoints (checkpointer.ts). Its SQL is in statements.ts.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type * as SQLite from 'node:sqlite';
import type { DatabaseSync } from 'node:sqlite';
import { newId } from '../../ids.ts';
import {
  type ActivityCounts,
  type AttemptRecord,
  type DestinationHealth,
  type DestinationMinute,
  type EventFilter,
  type EventPage,
  type InsertOutcome,
  type Lease,
  type ListenerRecord,
  type MigrationReport,
  type NewEvent,
  type Store,
  type StoredEvent,
  seqCursor,
  type StreamPage,
  StoreUnavailableError,
  type Verdict,
} from '../contract.ts';
import {
  type FinishedAttempt,
  lastError,
  nextAtAfter,
  replayed,
  replayTargets,
} from '../deliveries.ts';
import { runMigrations } from '../migrate.ts';
import type { SearchLag } from '../search.ts';
import { earliestDue, lease, pageOf, type Row, storedEvent, summary } from '../rows.ts';
import { listQuery, scanFloorQuery } from '../sql.ts';
import { TickBatch } from '../tick-batch.ts';
import { guard, unavailable } from '../unavailable.ts';
import { Checkpointer, type CheckpointerOptions } from './checkpointer.ts';
import { type ListenerStatements, prepareListeners } from './listeners.ts';
import { MIGRATIONS } from './migrations.ts';
import { prepareSearch, type SearchStatements } from './search.ts';
import { prepareSeries, type SeriesStatements } from './series.ts';
import { prepareStatements, SQLITE, type Statements } from './statements.ts';
import { transaction, tryWriteLock } from './transaction.ts';
import { WalSync } from './wal-sync.ts';

// Loaded when a store opens, not when the module is linked: on a Node without node:sqlite a
// static import would fail before anything could say which Node is needed (runtime.ts).
const { DatabaseSync: Database } = createRequire(import.meta.url)('node:sqlite') as typeof SQLite;

export interface SqliteOptions {
  /** How long a write waits for another connection's lock, in ms. It blocks the event loop
   * meanwhile, so it stays short: a locked database answers 503 rather than stalling ingest. */
  busyTimeoutMs?: number;
  /** Tuning of the checkpoint thread (checkpointer.ts); tests make it eager. */
  checkpoint?: CheckpointerOptions;
}

/** Applies what is missing of the schema. BEGIN IMMEDIATE is the migration lock: a second
 * process opening the file at once waits for it (busy_timeout), then finds every migration
 * recorded. */
function migrate(db: DatabaseSync): MigrationReport {
  return transaction(db, () =>
    runMigrations(MIGRATIONS, { ...SQLITE, lock: null }, (step) => {
      if ('script' in step) {
        db.exec(step.script);
        return [];
      }
      return db.prepare(step.statement).all(...step.params);
    }),
  );
}

const guarded = <T>(work: () => T): T => guard('sqlite', work);

export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #s: Statements;
  /** The activity counts' and destination health's statements (series.ts). */
  readonly #series: SeriesStatements;
  /** Search's index and its watermark (search.ts). */
  readonly #search: SearchStatements;
  /** Durable listeners' cursors (listeners.ts). */
  readonly #listeners: ListenerStatements;
  readonly #wal: WalSync | undefined;
  readonly #checkpointer: Checkpointer | undefined;
  /** What opening the store applied, until migrate() has reported it. */
  #migrated: MigrationReport | undefined;
  /** The newest seq written, and the newest known to be on disk (synced). */
  #writtenSeq = 0;
  #durableSeq = 0;
  /** Not awaited to disk: losing these records in a power cut only repeats attempts
   * (at-least-once); they become durable with the next synced commit. */
  readonly #finished = new TickBatch<FinishedAttempt>((batch) => this.#writeFinished(batch));

  /** Opens (creating) and migrates the database; StoreUnavailableError if it cannot. */
  constructor(path: string, options: SqliteOptions = {}) {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.#db = new Database(path);
    } catch (error) {
      throw unavailable('sqlite', error);
    }
    const db = this.#db;
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 2000)}`);
      // 2 KiB pages for a new database: the dedup index takes one random leaf page per event,
      // and every dirtied page goes whole into the WAL. Measured 9.8 → 6.3 KiB of WAL per
      // 1.5 KB event with the schema's one secondary index (bench/README.md). An existing
      // database keeps its page size.
      db.exec('PRAGMA page_size = 2048');
      db.exec('PRAGMA journal_mode = WAL');
      // NORMAL syncs around checkpoints; each commit's own fsync is WalSync's (wal-sync.ts),
      // awaited before insertEvents resolves, so a 2xx survives power loss as with FULL.
      db.exec('PRAGMA synchronous = NORMAL');
      this.#migrated = migrate(db);
      if (path !== ':memory:') {
        this.#wal = new WalSync(path);
        // Checkpoints run on a thread of their own (checkpointer.ts); should it fail, SQLite's
        // own (in the commit that crosses 1,000 pages) comes back.
        db.exec('PRAGMA wal_autocheckpoint = 0');
        this.#checkpointer = new Checkpointer(
          path,
          () => {
            if (db.isOpen) db.exec('PRAGMA wal_autocheckpoint = 1000');
          },
          options.checkpoint,
        );
      }
      db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 250)}`);
      this.#s = prepareStatements(db);
      this.#series = prepareSeries(db);
      this.#search = prepareSearch(db);
      this.#listeners = prepareListeners(db);
      this.#s.releaseAll.run();
      // After a restart every row on disk is durable (recovery replayed the WAL).
      this.#durableSeq = this.#writtenSeq = Number(this.#s.maxSeq.get()?.seq ?? 0);
    } catch (error) {
      void this.#checkpointer?.close();
      db.close();
      throw unavailable('sqlite', error);
    }
  }

  /** Migrations run as the store opens: the first call reports what they applied, later ones
   * read the schema version. */
  async migrate(): Promise<MigrationReport> {
    const report = this.#migrated;
    this.#migrated = undefined;
    return (
      report ?? {
        applied: [],
        version: Number(guarded(() => this.#s.schemaVersion.get()?.version)),
      }
    );
  }

  async insertEvents(batch: readonly NewEvent[]): Promise<InsertOutcome[]> {
    const held = this.#checkpointer?.held;
    if (held) await held;
    const outcomes = guarded(() => transaction(this.#db, () => this.#insert(batch)));
    this.#checkpointer?.wrote();
    const written = this.#writtenSeq;
    try {
      await this.#wal?.sync();
    } catch (error) {
      // Committed but perhaps not on disk: never acknowledged. The sender retries and is
      // answered "duplicate" once a later sync has succeeded.
      const message = `sqlite: fsync of the WAL failed: ${(error as Error).message}`;
      throw new StoreUnavailableError(message, { cause: error });
    }
    // A sync makes every earlier write durable too.
    if (written > this.#durableSeq) this.#durableSeq = written;
    return outcomes;
  }

  /** The hot path: one prepared INSERT per event, its deliveries' only if it was new. */
  #insert(batch: readonly NewEvent[]): InsertOutcome[] {
    const outcomes: InsertOutcome[] = [];
    const s = this.#s;
    for (const e of batch) {
      const { changes, lastInsertRowid } = s.insertEvent.run(
        e.id,
        e.source,
        e.eventId,
        e.type,
        e.receivedAt,
        JSON.stringify(e.headers),
        e.contentType,
        e.body,
        e.traceContext ?? null,
      );
      if (changes === 1) {
        this.#writtenSeq = Number(lastInsertRowid);
        outcomes.push({ id: e.id, duplicate: false });
        for (const d of e.destinations) {
          s.insertDelivery.run(
            newId('hyd', e.receivedAt),
            lastInsertRowid,
            d.destination,
            e.receivedAt,
            e.receivedAt,
            d.orderingKey,
          );
        }
      } else {
        const first = s.findDuplicate.get(e.source, e.eventId);
        outcomes.push({ id: first?.id as string, duplicate: true });
      }
    }
    return outcomes;
  }

  async listEvents(filter: EventFilter): Promise<EventPage> {
    const scan = scanFloorQuery(filter, SQLITE);
    const found = scan && guarded(() => this.#db.prepare(scan.text).get(...scan.params));
    const floor = found ? Number(found.seq) : null;
    const { text, params } = listQuery(filter, SQLITE, undefined, floor);
    return pageOf(
      guarded(() => this.#db.prepare(text).all(...params)),
      filter.limit,
      floor,
    );
  }

  // The stream's cursor is `seq`: one connection writes, one transaction at a time, so seq
  // order is commit order here. Only what is synced is read (#durableSeq), so the stream never
  // shows an event a crash could still take back.
  async eventsAfter(cursor: string, limit: number): Promise<StreamPage> {
    const after = seqCursor(cursor);
    const rows = guarded(() => this.#s.eventsAfter.all(after, this.#durableSeq, limit));
    const data = rows.map((row) => ({ ...summary(row), cursor: String(row.seq) }));
    return { data, cursor: data.at(-1)?.cursor ?? String(Math.max(after, 0)) };
  }

  async headCursor(): Promise<string> {
    guarded(() => this.#s.maxSeq.get()); // a closed store says so, as every method does
    return String(this.#durableSeq);
  }

  async getListener(name: string): Promise<ListenerRecord | undefined> {
    return guarded(() => this.#listeners.get(name));
  }

  /** Not awaited to disk, as attempts are not: a power cut can only take an acknowledgement
   * back, and the listener then forwards that event again (at least once). */
  async ackListener(name: string, cursor: string, now: number): Promise<ListenerRecord> {
    const seq = seqCursor(cursor);
    return this.#write(() => this.#listeners.ack(name, cursor, seq, now));
  }

  async listListeners(): Promise<ListenerRecord[]> {
    return guarded(() => this.#listeners.list());
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    return guarded(() => {
      const row = this.#s.eventById.get(id);
      if (!row) return undefined;
      const seq = row.seq as number;
      return storedEvent(row, this.#s.deliveriesOf.all(seq), this.#s.attemptsOf.all(seq));
    });
  }

  async claimDeliveries(
    destination: string,
    limit: number,
    now: number,
    leaseUntil: number,
  ): Promise<Lease[]> {
    return this.#write(() =>
      this.#s.claim.all({ until: leaseUntil, destination, now, limit }).map((d) => {
        const event = this.#s.leasedEvent.get(d.event_seq as number) as Row;
        return lease(d, event, destination, leaseUntil);
      }),
    );
  }

  /** Written with the others finished in the same tick, in one transaction. */
  finishAttempt(lease: Lease, attempt: AttemptRecord, verdict: Verdict): Promise<void> {
    return this.#finished.add({ lease, attempt, verdict });
  }

  #writeFinished(batch: FinishedAttempt[]): void {
    const s = this.#s;
    this.#write(() =>
      transaction(this.#db, () => {
        for (const { lease, attempt: a, verdict: v } of batch) {
          s.insertAttempt.run(
            lease.seq,
            a.n,
            a.startedAt,
            a.durationMs,
            a.statusCode,
            a.response,
            a.error,
            a.outcome,
          );
          s.finishDelivery.run(
            a.n,
            v.status,
            nextAtAfter(a, v),
            Date.now(),
            lastError(a, v),
            lease.seq,
            lease.leaseUntil,
          );
        }
      }),
    );
  }

  async releaseLeases(leases: readonly Lease[]): Promise<void> {
    this.#write(() => {
      for (const l of leases) this.#s.release.run(l.seq, l.leaseUntil);
    });
  }

  async replayEvent(
    id: string,
    destination: string | undefined,
    now: number,
    dryRun: boolean,
  ): Promise<{ id: string | null; destination: string }[] | undefined> {
    const s = this.#s;
    const run = () => {
      const row = s.eventSeq.get(id);
      if (!row) return undefined;
      const seq = row.seq as number;
      const targets = replayTargets(s.destinationsOf.all(seq), destination, now, dryRun);
      for (const t of dryRun ? [] : targets)
        s.insertDelivery.run(t.id, seq, t.destination, now, now, t.orderingKey);
      return replayed(targets);
    };
    // A dry run reads only; a replay reads and writes in one transaction.
    return dryRun ? guarded(run) : this.#write(() => transaction(this.#db, run));
  }

  async prune(before: number, limit: number): Promise<number> {
    return this.#write(() =>
      transaction(this.#db, () => {
        let deleted = 0;
        for (const statement of this.#s.prune)
          deleted = Number(statement.run({ before, limit }).changes);
        return deleted; // the last statement's count: events
      }),
    );
  }

  /** Behind the commit, on the event loop like every statement here, in batches kept short by
   * the indexer (../search.ts); it waits, as event commits do, while the WAL is being reset. */
  async indexSearch(limit: number): Promise<number | null> {
    const held = this.#checkpointer?.held;
    if (held) await held;
    return this.#write(() => this.#search.index(limit));
  }

  async searchLag(): Promise<SearchLag> {
    return guarded(() => this.#search.lag(Date.now()));
  }

  async nextDueAt(destination: string, now: number): Promise<number | null> {
    return earliestDue(guarded(() => this.#s.nextDue.get(destination, now, destination, now)));
  }

  // Counts are not synced on their own: they reach the disk with the next synced commit, and
  // a power cut loses at most the last few seconds of them (never an event).
  async addActivity(
    totals: readonly ActivityCounts[],
    destinations: readonly DestinationMinute[],
  ): Promise<void> {
    if (totals.length + destinations.length === 0) return;
    this.#write(() => this.#series.add(totals, destinations));
  }

  async activity(since: number, until: number, bucketMs: number): Promise<ActivityCounts[]> {
    return guarded(() => this.#series.activity(since, until, bucketMs));
  }

  async destinationHealth(
    destinations: readonly string[],
    now: number,
    since: number,
  ): Promise<DestinationHealth[]> {
    return guarded(() => this.#series.health(destinations, now, since));
  }

  async pruneActivity(before: number): Promise<void> {
    this.#write(() => this.#series.prune(before));
  }

  /** A write outside an event commit: guarded, and copied by the next checkpoint pass. */
  #write<T>(work: () => T): T {
    const result = guarded(work);
    this.#checkpointer?.wrote();
    return result;
  }

  /** Readiness means a commit could succeed now, not just that the file opens. */
  async ping(): Promise<void> {
    guarded(() => tryWriteLock(this.#db));
  }

  async close(): Promise<void> {
    await this.#checkpointer?.close();
    if (this.#db.isOpen) this.#db.close();
    this.#wal?.close();
  }
}
