// The embedded default: SQLite through node:sqlite (no native addon), in WAL mode. Statements
// run synchronously on the main thread (measured faster than a worker thread, baselines.md);
// the fsync that makes a commit durable runs off it (wal-sync.ts), shared by whole batches.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  decodeCursor,
  type EventFilter,
  type EventPage,
  type EventSummary,
  encodeCursor,
  type InsertOutcome,
  type NewEvent,
  type Store,
  type StoredEvent,
  StoreUnavailableError,
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

function summary(row: Row): EventSummary {
  return {
    id: row.id as string,
    source: row.source as string,
    eventId: row.event_id as string,
    type: (row.type as string | null) ?? null,
    receivedAt: Number(row.received_at),
    size: Number(row.size),
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
  readonly #wal: WalSync | undefined;

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
      `SELECT id, source, event_id, type, received_at, length(body) AS size, headers, content_type, body
       FROM events WHERE id = ?`,
    );
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
          const { changes } = this.#insert.run(
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
    const rows = this.#db
      .prepare(
        `SELECT seq, id, source, event_id, type, received_at, length(body) AS size FROM events
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY seq DESC LIMIT ?`,
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
    return {
      ...summary(row),
      headers: JSON.parse(row.headers as string) as [string, string][],
      contentType: (row.content_type as string | null) ?? null,
      body: row.body as Uint8Array,
    };
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
