// The embedded default: SQLite through node:sqlite (no native addon), in WAL mode. Statements
// run synchronously on the main thread (measured faster than a worker thread, baselines.md);
// the fsync that makes a commit durable runs off it (wal-sync.ts), shared by whole batches.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { newId } from '../../ids.ts';
import {
  type AttemptRecord,
  type DeliveryDetail,
  decodeCursor,
  type EventFilter,
  type EventPage,
  type EventSummary,
  encodeCursor,
  type EventStatus,
  type InsertOutcome,
  type Lease,
  type NewEvent,
  type Store,
  type StoredEvent,
  StoreUnavailableError,
  type Verdict,
} from '../contract.ts';
import { MIGRATIONS } from './migrations.ts';
import { WalSync } from './wal-sync.ts';

export interface SqliteOptions {
  /** How long a write waits for another connection's lock, in ms. It blocks the event loop
   * meanwhile, so it stays short: a locked database answers 503 rather than stalling ingest. */
  busyTimeoutMs?: number;
}

type Row = Record<string, unknown>;

function migrate(db: DatabaseSync): void {
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
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

/** Only the oldest pending delivery of an ordering key may be attempted (or waited for). */
const HEAD_OF_KEY = `(d.ordering_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM deliveries o
    WHERE o.status = 'pending' AND o.destination = d.destination
      AND o.ordering_key = d.ordering_key AND o.seq < d.seq))`;

/** The event's status from its newest delivery per destination (contract.ts: EventStatus). */
const STATUS_SQL = `(SELECT CASE
    WHEN count(*) = 0 THEN 'received'
    WHEN sum(d.status = 'dead') > 0 THEN 'dead'
    WHEN sum(d.status = 'pending' AND d.attempts > 0) > 0 THEN 'failing'
    WHEN sum(d.status = 'pending') > 0 THEN 'pending'
    ELSE 'delivered' END
  FROM deliveries d WHERE d.event_seq = e.seq
    -- a replay adds a newer delivery per destination; only the newest counts
    AND d.seq = (SELECT max(d2.seq) FROM deliveries d2
                 WHERE d2.event_seq = e.seq AND d2.destination = d.destination)) AS status`;

function summary(row: Row): EventSummary {
  return {
    id: row.id as string,
    source: row.source as string,
    eventId: row.event_id as string,
    type: (row.type as string | null) ?? null,
    receivedAt: Number(row.received_at),
    size: Number(row.size),
    status: row.status as EventStatus,
  };
}

function attemptRecord(row: Row): AttemptRecord {
  return {
    n: Number(row.n),
    startedAt: Number(row.started_at),
    durationMs: Number(row.duration_ms),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    response: (row.response as string | null) ?? null,
    error: (row.error as string | null) ?? null,
    outcome: row.outcome as AttemptRecord['outcome'],
  };
}

/** `*` globs become SQLite GLOB patterns with every other special character escaped. */
function globPattern(type: string): string {
  return type.replace(/[?[\]]/g, (c) => `[${c}]`);
}

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
  readonly #finished: {
    lease: Lease;
    attempt: AttemptRecord;
    verdict: Verdict;
    resolve(): void;
    reject(error: unknown): void;
  }[] = [];

  constructor(path: string, options: SqliteOptions = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
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
    migrate(this.#db);
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
      `SELECT e.seq, e.id, source, event_id, type, received_at, length(body) AS size, headers, content_type, body, ${STATUS_SQL}
       FROM events e WHERE e.id = ?`,
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
      `UPDATE deliveries SET attempts = ?, status = ?, next_at = ?, lease_until = NULL,
         updated_at = ?, last_error = ? WHERE seq = ?`,
    );
    this.#release = this.#db.prepare('UPDATE deliveries SET lease_until = NULL WHERE seq = ?');
    // Ordered by the partial index and stopped at the first match: a min() over every pending
    // row made each sleep cost as much as the backlog was long.
    this.#nextDue = this.#db.prepare(
      `SELECT next_at AS due FROM deliveries d
       WHERE status = 'pending' AND destination = :destination
         AND (lease_until IS NULL OR lease_until <= :now) AND ${HEAD_OF_KEY}
       ORDER BY next_at LIMIT 1`,
    );
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
    // One gateway process owns a SQLite file, so leases left by a previous process (killed
    // mid-attempt) are stale now: release them rather than wait for them to expire.
    this.#db.exec('UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL');
  }

  async insertEvents(batch: readonly NewEvent[]): Promise<InsertOutcome[]> {
    const outcomes = this.#commit(batch);
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
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.source !== undefined) {
      where.push('source = ?');
      params.push(filter.source);
    }
    if (filter.type !== undefined) {
      where.push(filter.type.includes('*') ? 'type GLOB ?' : 'type = ?');
      params.push(filter.type.includes('*') ? globPattern(filter.type) : filter.type);
    }
    if (filter.since !== undefined) {
      where.push('received_at >= ?');
      params.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push('received_at < ?');
      params.push(filter.until);
    }
    if (filter.cursor !== undefined) {
      const seq = decodeCursor(filter.cursor);
      if (seq === undefined) throw new RangeError('cursor is not one this server gave out');
      where.push('seq < ?');
      params.push(seq);
    }
    const statusWhere = filter.status === undefined ? '' : 'WHERE status = ?';
    if (filter.status !== undefined) params.push(filter.status);
    const rows = this.#db
      .prepare(
        `SELECT * FROM (
           SELECT e.seq, e.id, source, event_id, type, received_at, length(body) AS size, ${STATUS_SQL}
           FROM events e ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY e.seq DESC)
         ${statusWhere} LIMIT ?`,
      )
      .all(...params, filter.limit + 1);
    const more = rows.length > filter.limit;
    const page = more ? rows.slice(0, filter.limit) : rows;
    const last = page.at(-1);
    return {
      data: page.map(summary),
      nextCursor: more && last ? encodeCursor(Number(last.seq)) : null,
    };
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
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
    return this.#guard(() => {
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

  /**
   * Queued and written with the others finished in the same tick, in one transaction: a
   * transaction per attempt made the WAL (and its checkpoints) the drain's main cost.
   * Not awaited to disk: losing these records in a power cut only repeats attempts
   * (at-least-once); they become durable with the next synced commit.
   */
  finishAttempt(lease: Lease, attempt: AttemptRecord, verdict: Verdict): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#finished.push({ lease, attempt, verdict, resolve, reject });
      if (this.#finished.length === 1) setImmediate(() => this.#writeFinished());
    });
  }

  #writeFinished(): void {
    const batch = this.#finished.splice(0);
    try {
      this.#guard(() => {
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
            const lastError =
              v.status === 'dead'
                ? v.reason
                : v.status === 'pending'
                  ? (a.error ?? `HTTP ${a.statusCode}`)
                  : null;
            this.#updateDelivery.run(
              a.n,
              v.status,
              v.status === 'pending' ? v.nextAt : a.startedAt,
              Date.now(),
              lastError,
              lease.seq,
            );
          }
          this.#db.exec('COMMIT');
        } catch (error) {
          if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
          throw error;
        }
      });
    } catch (error) {
      for (const f of batch) f.reject(error);
      return;
    }
    for (const f of batch) f.resolve();
  }

  async releaseLeases(leases: readonly Lease[]): Promise<void> {
    this.#guard(() => {
      for (const l of leases) this.#release.run(l.seq);
    });
  }

  async replayEvent(
    id: string,
    destination: string | undefined,
    now: number,
    dryRun: boolean,
  ): Promise<{ id: string | null; destination: string }[] | undefined> {
    return this.#guard(() => {
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

  async nextDueAt(destination: string, now: number): Promise<number | null> {
    const due = this.#guard(() => this.#nextDue.get({ destination, now })?.due);
    return due === null || due === undefined ? null : Number(due);
  }

  #guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw new StoreUnavailableError(`sqlite: ${(error as Error).message}`, { cause: error });
    }
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
    if (this.#db.isOpen) this.#db.close();
    this.#wal?.close();
  }
}
