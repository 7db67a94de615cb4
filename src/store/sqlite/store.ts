// The embedded default: SQLite through node:sqlite (no native addon), in WAL mode. Statements
// run synchronously on the main thread (measured faster than a worker thread, docs/baselines.md);
// the fsync that makes a commit durable runs off it (wal-sync.ts), shared by whole batches,
// and so do checkpoints (checkpointer.ts).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type * as SQLite from 'node:sqlite';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { newId } from '../../ids.ts';

// Loaded when a store opens, not when the module is linked: on a Node without node:sqlite a
// static import would fail before anything could say which Node is needed (runtime.ts).
const { DatabaseSync: Database } = createRequire(import.meta.url)('node:sqlite') as typeof SQLite;
import {
  type AttemptRecord,
  type DeliveryDetail,
  type EventFilter,
  type EventPage,
  type InsertOutcome,
  type Lease,
  type MigrationReport,
  type NewEvent,
  type Store,
  type StoredEvent,
  StoreUnavailableError,
  type Verdict,
} from '../contract.ts';
import {
  attemptRecord,
  earliestDue,
  type FinishedAttempt,
  HEAD_OF_KEY,
  lastError,
  listQuery,
  nextAtAfter,
  nextDueSql,
  pageOf,
  type Row,
  SUMMARY_COLUMNS,
  summary,
} from '../sql.ts';
import { TickBatch } from '../tick-batch.ts';
import { Checkpointer, type CheckpointerOptions } from './checkpointer.ts';
import { MIGRATIONS } from './migrations.ts';
import { WalSync } from './wal-sync.ts';

export interface SqliteOptions {
  /** How long a write waits for another connection's lock, in ms. It blocks the event loop
   * meanwhile, so it stays short: a locked database answers 503 rather than stalling ingest. */
  busyTimeoutMs?: number;
  /** Tuning of the checkpoint thread (checkpointer.ts); tests make it eager. */
  checkpoint?: CheckpointerOptions;
}

function migrate(db: DatabaseSync): MigrationReport {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  // BEGIN IMMEDIATE serialises processes that start at once: the second waits, then sees
  // the versions the first applied.
  db.exec('BEGIN IMMEDIATE');
  try {
    const done = new Set(
      db
        .prepare('SELECT version FROM schema_migrations')
        .all()
        .map((r) => Number(r.version)),
    );
    const record = db.prepare(
      'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
    );
    const applied: MigrationReport['applied'] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
      applied.push({ version: m.version, name: m.name });
    }
    db.exec('COMMIT');
    return { applied, version: Math.max(0, ...done, ...applied.map((m) => m.version)) };
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

const SQLITE = {
  param: () => '?',
  // `*` globs become SQLite GLOB patterns (case-sensitive, unlike LIKE) with every other
  // special character escaped.
  typeGlob: (_n: number, glob: string) => ({
    sql: 'e.type GLOB ?',
    value: glob.replace(/[?[\]]/g, (c) => `[${c}]`),
  }),
};

export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #findDuplicate: StatementSync;
  readonly #get: StatementSync;
  readonly #insertDelivery: StatementSync;
  readonly #claim: StatementSync;
  readonly #leasedEvent: StatementSync;
  readonly #insertAttempt: StatementSync;
  readonly #updateDelivery: StatementSync;
  readonly #release: StatementSync;
  readonly #nextDue: StatementSync;
  readonly #deliveriesOf: StatementSync;
  readonly #eventSeq: StatementSync;
  readonly #destinationsOf: StatementSync;
  readonly #attemptsOf: StatementSync;
  readonly #wal: WalSync | undefined;
  readonly #checkpointer: Checkpointer | undefined;
  #migrated: MigrationReport;
  readonly #prune: StatementSync[];
  /** Not awaited to disk: losing these records in a power cut only repeats attempts
   * (at-least-once); they become durable with the next synced commit. */
  readonly #finished = new TickBatch<FinishedAttempt>((batch) => this.#writeFinished(batch));

  constructor(path: string, options: SqliteOptions = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 2000)}`);
    // 2 KiB pages for a new database: the dedup index takes one random leaf page per event,
    // and every dirtied page goes whole into the WAL. Measured 9.8 → 6.3 KiB of WAL per
    // 1.5 KB event with the schema's one secondary index (bench/README.md). An existing
    // database keeps its page size.
    this.#db.exec('PRAGMA page_size = 2048');
    this.#db.exec('PRAGMA journal_mode = WAL');
    // FULL: a commit is on disk (WAL fsync'd) before it returns, so a 2xx survives power loss.
    // NORMAL syncs around checkpoints; each commit's own fsync is WalSync's (wal-sync.ts),
    // awaited before insertEvents resolves, so a 2xx survives power loss as with FULL.
    this.#db.exec('PRAGMA synchronous = NORMAL');
    this.#wal = path === ':memory:' ? undefined : new WalSync(path);
    this.#migrated = migrate(this.#db);
    if (path !== ':memory:') {
      // Checkpoints run on a thread of their own (checkpointer.ts); should it fail, SQLite's
      // own (in the commit that crosses 1,000 pages) comes back.
      this.#db.exec('PRAGMA wal_autocheckpoint = 0');
      this.#checkpointer = new Checkpointer(
        path,
        () => {
          if (this.#db.isOpen) this.#db.exec('PRAGMA wal_autocheckpoint = 1000');
        },
        options.checkpoint,
      );
    }
    this.#db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 250)}`);
    this.#insert = this.#db.prepare(
      `INSERT INTO events (id, source, event_id, type, received_at, headers, content_type, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source, event_id) DO NOTHING`,
    );
    this.#findDuplicate = this.#db.prepare(
      'SELECT id FROM events WHERE source = ? AND event_id = ?',
    );
    this.#get = this.#db.prepare(
      `SELECT ${SUMMARY_COLUMNS}, e.headers, e.content_type, e.body FROM events e WHERE e.id = ?`,
    );
    this.#insertDelivery = this.#db.prepare(
      `INSERT INTO deliveries (id, event_seq, destination, next_at, updated_at, ordering_key)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#claim = this.#db.prepare(
      `UPDATE deliveries SET lease_until = :until
       WHERE seq IN (
         SELECT seq FROM deliveries d
         WHERE status = 'pending' AND destination = :destination AND next_at <= :now
           AND (lease_until IS NULL OR lease_until <= :now) AND ${HEAD_OF_KEY}
         ORDER BY next_at, seq LIMIT :limit)
       RETURNING seq, id, event_seq, attempts`,
    );
    this.#leasedEvent = this.#db.prepare(
      'SELECT id, source, type, headers, content_type, body FROM events WHERE seq = ?',
    );
    this.#insertAttempt = this.#db.prepare(
      `INSERT INTO attempts (delivery_seq, n, started_at, duration_ms, status_code, response, error, outcome)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#updateDelivery = this.#db.prepare(
      // Only while the lease is still this one: a lease that expired and was taken again
      // belongs to the newer attempt (the older one is recorded all the same).
      `UPDATE deliveries SET attempts = ?, status = ?, next_at = ?, lease_until = NULL,
         updated_at = ?, last_error = ? WHERE seq = ? AND lease_until = ?`,
    );
    this.#release = this.#db.prepare(
      'UPDATE deliveries SET lease_until = NULL WHERE seq = ? AND lease_until = ?',
    );
    // Ordered by the partial index and stopped at the first match: a min() over every pending
    // row made each sleep cost as much as the backlog was long.
    this.#nextDue = this.#db.prepare(nextDueSql(SQLITE));
    this.#deliveriesOf = this.#db.prepare(
      'SELECT seq, id, destination, status, next_at, last_error FROM deliveries WHERE event_seq = ? ORDER BY seq',
    );
    this.#eventSeq = this.#db.prepare('SELECT seq FROM events WHERE id = ?');
    this.#destinationsOf = this.#db.prepare(
      `SELECT destination, max(ordering_key) AS ordering_key FROM deliveries WHERE event_seq = ?
       GROUP BY destination ORDER BY destination`,
    );
    this.#attemptsOf = this.#db.prepare(
      'SELECT n, started_at, duration_ms, status_code, response, error, outcome FROM attempts WHERE delivery_seq = ? ORDER BY n',
    );
    // Oldest first by rowid, stopping after `limit`: a short write transaction per batch.
    const old = 'SELECT seq FROM events WHERE received_at < :before ORDER BY seq LIMIT :limit';
    this.#prune = [
      `DELETE FROM attempts WHERE delivery_seq IN
         (SELECT seq FROM deliveries WHERE event_seq IN (${old}))`,
      `DELETE FROM deliveries WHERE event_seq IN (${old})`,
      `DELETE FROM events WHERE seq IN (${old})`,
    ].map((text) => this.#db.prepare(text));
    // One gateway process owns a SQLite file, so leases left by a previous process (killed
    // mid-attempt) are stale now: release them rather than wait for them to expire.
    this.#db.exec('UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL');
  }

  async insertEvents(batch: readonly NewEvent[]): Promise<InsertOutcome[]> {
    const held = this.#checkpointer?.held;
    if (held) await held;
    const outcomes = this.#commit(batch);
    this.#checkpointer?.wrote();
    try {
      await this.#wal?.sync();
    } catch (error) {
      // Committed but perhaps not on disk: never acknowledged. The sender retries and is
      // answered "duplicate" once a later sync has succeeded.
      throw new StoreUnavailableError(
        `sqlite: fsync of the WAL failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    return outcomes;
  }

  #commit(batch: readonly NewEvent[]): InsertOutcome[] {
    const outcomes: InsertOutcome[] = [];
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        for (const e of batch) {
          const { changes, lastInsertRowid } = this.#insert.run(
            e.id,
            e.source,
            e.eventId,
            e.type,
            e.receivedAt,
            JSON.stringify(e.headers),
            e.contentType,
            e.body,
          );
          if (changes === 1) {
            outcomes.push({ id: e.id, duplicate: false });
            for (const d of e.destinations) {
              this.#insertDelivery.run(
                newId('hyd', e.receivedAt),
                lastInsertRowid,
                d.destination,
                e.receivedAt,
                e.receivedAt,
                d.orderingKey,
              );
            }
          } else {
            const first = this.#findDuplicate.get(e.source, e.eventId);
            outcomes.push({ id: first?.id as string, duplicate: true });
          }
        }
        this.#db.exec('COMMIT');
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      throw new StoreUnavailableError(`sqlite: ${(error as Error).message}`, { cause: error });
    }
    return outcomes;
  }

  async listEvents(filter: EventFilter): Promise<EventPage> {
    const { text, params } = listQuery(filter, SQLITE);
    const rows = this.#guard(() => this.#db.prepare(text).all(...params));
    return pageOf(rows, filter.limit);
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    return this.#guard(() => this.#readEvent(id));
  }

  #readEvent(id: string): StoredEvent | undefined {
    const row = this.#get.get(id);
    if (!row) return undefined;
    const deliveries: DeliveryDetail[] = this.#deliveriesOf.all(row.seq as number).map((d) => ({
      id: d.id as string,
      destination: d.destination as string,
      status: d.status as DeliveryDetail['status'],
      nextAt: d.status === 'pending' ? Number(d.next_at) : null,
      lastError: (d.last_error as string | null) ?? null,
      attempts: this.#attemptsOf.all(d.seq as number).map(attemptRecord),
    }));
    return {
      ...summary(row),
      headers: JSON.parse(row.headers as string) as [string, string][],
      contentType: (row.content_type as string | null) ?? null,
      body: row.body as Uint8Array,
      deliveries,
    };
  }

  async claimDeliveries(
    destination: string,
    limit: number,
    now: number,
    leaseUntil: number,
  ): Promise<Lease[]> {
    return this.#write(() => {
      const claimed = this.#claim.all({ until: leaseUntil, destination, now, limit });
      return claimed.map((d) => {
        const e = this.#leasedEvent.get(d.event_seq as number) as Row;
        return {
          seq: Number(d.seq),
          id: d.id as string,
          destination,
          attempt: Number(d.attempts) + 1,
          leaseUntil,
          event: {
            id: e.id as string,
            source: e.source as string,
            type: (e.type as string | null) ?? null,
            headers: JSON.parse(e.headers as string) as [string, string][],
            contentType: (e.content_type as string | null) ?? null,
            body: e.body as Uint8Array,
          },
        };
      });
    });
  }

  /** Written with the others finished in the same tick, in one transaction. */
  finishAttempt(lease: Lease, attempt: AttemptRecord, verdict: Verdict): Promise<void> {
    return this.#finished.add({ lease, attempt, verdict });
  }

  #writeFinished(batch: FinishedAttempt[]): void {
    this.#write(() => {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        for (const { lease, attempt: a, verdict: v } of batch) {
          this.#insertAttempt.run(
            lease.seq,
            a.n,
            a.startedAt,
            a.durationMs,
            a.statusCode,
            a.response,
            a.error,
            a.outcome,
          );
          this.#updateDelivery.run(
            a.n,
            v.status,
            nextAtAfter(a, v),
            Date.now(),
            lastError(a, v),
            lease.seq,
            lease.leaseUntil,
          );
        }
        this.#db.exec('COMMIT');
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async releaseLeases(leases: readonly Lease[]): Promise<void> {
    this.#write(() => {
      for (const l of leases) this.#release.run(l.seq, l.leaseUntil);
    });
  }

  async replayEvent(
    id: string,
    destination: string | undefined,
    now: number,
    dryRun: boolean,
  ): Promise<{ id: string | null; destination: string }[] | undefined> {
    return this.#write(() => {
      const row = this.#eventSeq.get(id);
      if (!row) return undefined;
      const seq = Number(row.seq);
      // A replay keeps the ordering key the destination's earlier delivery had.
      const earlier = new Map(
        this.#destinationsOf
          .all(seq)
          .map((d) => [d.destination as string, (d.ordering_key as string | null) ?? null]),
      );
      const targets = destination === undefined ? [...earlier.keys()] : [destination];
      if (dryRun) return targets.map((d) => ({ id: null, destination: d }));
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const created = targets.map((d) => {
          const deliveryId = newId('hyd', now);
          this.#insertDelivery.run(deliveryId, seq, d, now, now, earlier.get(d) ?? null);
          return { id: deliveryId, destination: d };
        });
        this.#db.exec('COMMIT');
        return created;
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  /** Migrations run when the store opens (the constructor); this reports what they did. */
  async migrate(): Promise<MigrationReport> {
    const report = this.#migrated;
    this.#migrated = { applied: [], version: report.version };
    return report;
  }

  async prune(before: number, limit: number): Promise<number> {
    return this.#write(() => {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        let deleted = 0;
        for (const statement of this.#prune) {
          deleted = Number(statement.run({ before, limit }).changes);
        }
        this.#db.exec('COMMIT');
        return deleted; // the last statement's count: events
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async nextDueAt(destination: string, now: number): Promise<number | null> {
    return earliestDue(this.#guard(() => this.#nextDue.get(destination, now, destination, now)));
  }

  #guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw new StoreUnavailableError(`sqlite: ${(error as Error).message}`, { cause: error });
    }
  }

  /** A write outside an event commit: guarded, and copied by the next checkpoint pass. */
  #write<T>(work: () => T): T {
    const result = this.#guard(work);
    this.#checkpointer?.wrote();
    return result;
  }

  async ping(): Promise<void> {
    try {
      // Take the write lock and let it go: readiness means a commit could succeed now, not
      // just that the file opens. Nothing is written, so nothing is synced.
      this.#db.exec('BEGIN IMMEDIATE');
      this.#db.exec('ROLLBACK');
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw new StoreUnavailableError(`sqlite: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.#checkpointer?.close();
    if (this.#db.isOpen) this.#db.close();
    this.#wal?.close();
  }
}
