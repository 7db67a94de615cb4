// PostgreSQL through the `postgres` client (pure JS, pipelining, LISTEN with its own
// connection). Several gateway processes may share one database:
// - a group-committed batch is one statement (events and their deliveries in CTEs), so a
//   batch costs one round trip and one commit, which PostgreSQL itself groups further; the
//   NOTIFY for other processes follows on its own (`#announce`);
// - claims lease with `FOR UPDATE SKIP LOCKED`: two processes never lease the same delivery,
//   and a lease whose process died is taken again once it expires;
// - `watch` turns other processes' NOTIFYs into wake-ups for idle delivery workers.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { newId } from '../../ids.ts';
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
import { MIGRATIONS } from './migrations.ts';

export interface PostgresOptions {
  /** Connections in the pool. Default 10. */
  pool?: number;
  /** How long to wait for a connection before a request fails (and ingest answers 503), in
   * seconds. Default 5. */
  connectTimeoutSec?: number;
  /** Ms a lone event may wait to share its batch's transaction (Store.batchLinger). Default 0. */
  batchLinger?: number;
}

/** The NOTIFY channel: payload `<instance>:<destination>,<destination>…`. */
const CHANNEL = 'hookyard_due';
/** Any value works as long as every Hookyard process uses it: "hookyard" in ASCII. */
const MIGRATION_LOCK = 0x686f6f6b79617264n;

const PG = {
  param: (n: number) => `$${n}`,
  // `*` globs become LIKE patterns; LIKE's own wildcards and escape are matched literally.
  typeGlob: (n: number, glob: string) => ({
    sql: `e.type LIKE $${n} ESCAPE '\\'`,
    value: glob.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('*', '%'),
  }),
};

const CLAIM = `
  WITH claimed AS (
    UPDATE deliveries SET lease_until = $4
    FROM (SELECT d.seq FROM deliveries d
          WHERE d.status = 'pending' AND d.destination = $1 AND d.next_at <= $2
            AND (d.lease_until IS NULL OR d.lease_until <= $2) AND ${HEAD_OF_KEY}
          ORDER BY d.next_at, d.seq LIMIT $3
          FOR UPDATE SKIP LOCKED) due
    WHERE deliveries.seq = due.seq
    RETURNING deliveries.seq, deliveries.id, deliveries.event_seq, deliveries.attempts)
  SELECT c.seq, c.id, c.attempts, e.id AS event_id, e.source, e.type, e.headers,
         e.content_type, e.body
  FROM claimed c JOIN events e ON e.seq = c.event_seq
  ORDER BY c.seq`;

const NEXT_DUE = nextDueSql(PG);

/** A batch of events with their deliveries, in one statement. Events that conflict with a
 * stored (source, event_id) — or with one earlier in the same batch — are skipped, and so are
 * their deliveries. No NOTIFY in here: see `#announce`. */
const INSERT_BATCH = `
  WITH ins AS (
    INSERT INTO events (id, source, event_id, type, received_at, headers, content_type, body)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                         $6::text[], $7::text[], $8::bytea[])
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING seq, id),
  dl AS (
    INSERT INTO deliveries (id, event_seq, destination, next_at, updated_at, ordering_key)
    SELECT d.id, ins.seq, d.destination, d.at, d.at, d.ordering_key
    FROM unnest($9::text[], $10::text[], $11::text[], $12::bigint[], $13::text[])
           AS d(id, event, destination, at, ordering_key)
    JOIN ins ON ins.id = d.event)
  SELECT ins.id FROM ins`;

const FINISH_BATCH = `
  WITH a AS (
    INSERT INTO attempts (delivery_seq, n, started_at, duration_ms, status_code, response, error, outcome)
    SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::int[], $5::int[],
                         $6::text[], $7::text[], $8::text[]))
  UPDATE deliveries d
  SET attempts = u.n, status = u.status, next_at = u.next_at, lease_until = NULL,
      updated_at = $9, last_error = u.last_error
  FROM unnest($1::bigint[], $2::int[], $10::text[], $11::bigint[], $12::text[], $13::bigint[])
         AS u(seq, n, status, next_at, last_error, lease_until)
  -- only while the lease is still this one: one that expired and was taken again belongs to
  -- the newer attempt (the older attempt is recorded all the same)
  WHERE d.seq = u.seq AND d.lease_until = u.lease_until`;

type Sql = postgres.Sql;

function unavailable(error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  const e = error as Error & { code?: string };
  return new StoreUnavailableError(`postgres: ${e.code ? `${e.code}: ` : ''}${e.message}`, {
    cause: error,
  });
}

export class PostgresStore implements Store {
  readonly #url: string;
  readonly #sql: Sql;
  readonly #instance = randomBytes(6).toString('base64url');
  /** Each batch is a round trip and a transaction of its own: see bench/README.md for what
   * lingering saves at a moderate load and costs at saturation. */
  readonly batchLinger: number;
  readonly #connectTimeoutSec: number;
  #ready: Promise<MigrationReport> | undefined;
  #reported = false;
  #closed = false;
  readonly #finished = new TickBatch<FinishedAttempt>((batch) => this.#writeFinished(batch));
  // LISTEN needs a connection of its own that stays open; `postgres`'s own listen() gives up
  // on a channel when re-listening after a reconnect fails, so this one re-listens until it
  // succeeds and then tells the watchers that they may have missed something.
  readonly #watchers = new Set<(destinations: readonly string[] | null) => void>();
  #listener: Sql | undefined;
  readonly #toAnnounce = new Set<string>();
  #announcing = false;
  #relisten: NodeJS.Timeout | undefined;

  constructor(url: string, options: PostgresOptions = {}) {
    this.#url = url;
    this.batchLinger = options.batchLinger ?? 0;
    this.#connectTimeoutSec = options.connectTimeoutSec ?? 5;
    this.#sql = postgres(url, {
      max: options.pool ?? 10,
      connect_timeout: this.#connectTimeoutSec,
      idle_timeout: 60,
      // Seconds between reconnection attempts. The client's default grows to 20 s, so after
      // an outage requests went on failing that long; capped at 1 s, a gateway recovers
      // within about a second of the database.
      backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
      onnotice: () => undefined,
      connection: { application_name: 'hookyard' },
    });
  }

  /** Migrations run once per store, before its first query; a failed run is tried again. */
  #open(): Promise<MigrationReport> {
    this.#ready ??= this.#migrate().catch((error: unknown) => {
      this.#ready = undefined;
      throw unavailable(error);
    });
    return this.#ready;
  }

  async #migrate(): Promise<MigrationReport> {
    return this.#sql.begin(async (tx) => {
      // Held until this transaction ends: a second process starting now waits here, then
      // finds every migration recorded.
      await tx`SELECT pg_advisory_xact_lock(${String(MIGRATION_LOCK)}::bigint)`;
      await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`;
      const done = new Set(
        (await tx`SELECT version FROM schema_migrations`).map((r) => Number(r.version)),
      );
      const applied: MigrationReport['applied'] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await tx.unsafe(m.sql);
        await tx`INSERT INTO schema_migrations (version, name, applied_at)
                 VALUES (${m.version}, ${m.name}, ${Date.now()})`;
        applied.push({ version: m.version, name: m.name });
      }
      return { applied, version: Math.max(0, ...done, ...applied.map((m) => m.version)) };
    });
  }

  /** Runs `work` once the schema is ready; any failure is the store being unavailable. */
  async #run<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      await this.#open();
      return await work(this.#sql);
    } catch (error) {
      throw unavailable(error);
    }
  }

  async migrate(): Promise<MigrationReport> {
    const report = await this.#open();
    if (this.#reported) return { applied: [], version: report.version };
    this.#reported = true;
    return report;
  }

  async insertEvents(batch: readonly NewEvent[]): Promise<InsertOutcome[]> {
    const cols = {
      id: [] as string[],
      source: [] as string[],
      eventId: [] as string[],
      type: [] as (string | null)[],
      receivedAt: [] as number[],
      headers: [] as string[],
      contentType: [] as (string | null)[],
      body: [] as Buffer[],
    };
    const del = {
      id: [] as string[],
      event: [] as string[],
      destination: [] as string[],
      at: [] as number[],
      orderingKey: [] as (string | null)[],
    };
    const destinations = new Set<string>();
    for (const e of batch) {
      cols.id.push(e.id);
      cols.source.push(e.source);
      cols.eventId.push(e.eventId);
      cols.type.push(e.type);
      cols.receivedAt.push(e.receivedAt);
      cols.headers.push(JSON.stringify(e.headers));
      cols.contentType.push(e.contentType);
      cols.body.push(Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength));
      for (const d of e.destinations) {
        del.id.push(newId('hyd', e.receivedAt));
        del.event.push(e.id);
        del.destination.push(d.destination);
        del.at.push(e.receivedAt);
        del.orderingKey.push(d.orderingKey);
        destinations.add(d.destination);
      }
    }
    return this.#run(async (sql) => {
      const rows = await sql.unsafe(
        INSERT_BATCH,
        [
          cols.id,
          cols.source,
          cols.eventId,
          cols.type,
          cols.receivedAt,
          cols.headers,
          cols.contentType,
          // typed explicitly: an array of Buffers would go as one bytea
          sql.array(cols.body),
          del.id,
          del.event,
          del.destination,
          del.at,
          del.orderingKey,
        ] as never[],
        { prepare: true },
      );
      if (rows.length > 0) this.#announce(destinations);
      const stored = new Set(rows.map((r) => r.id as string));
      const outcomes: (InsertOutcome | undefined)[] = batch.map((e) =>
        stored.has(e.id) ? { id: e.id, duplicate: false } : undefined,
      );
      const dups = batch.filter((e) => !stored.has(e.id));
      if (dups.length > 0) {
        // Committed by now (ours, or another process's that our insert waited for).
        const first = await sql`
          SELECT e.id, e.source, e.event_id FROM events e
          JOIN unnest(${dups.map((e) => e.source)}::text[], ${dups.map((e) => e.eventId)}::text[])
            AS k(source, event_id) ON e.source = k.source AND e.event_id = k.event_id`;
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
    const { text, params } = listQuery(filter, PG);
    const rows = await this.#run((sql) => sql.unsafe(text, params));
    return pageOf(rows, filter.limit);
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    return this.#run(async (sql) => {
      const [row] = await sql.unsafe(
        `SELECT ${SUMMARY_COLUMNS}, e.headers, e.content_type, e.body FROM events e WHERE e.id = $1`,
        [id],
      );
      if (!row) return undefined;
      const deliveryRows = await sql`
        SELECT seq, id, destination, status, next_at, last_error FROM deliveries
        WHERE event_seq = ${row.seq} ORDER BY seq`;
      const attemptRows = await sql`
        SELECT delivery_seq, n, started_at, duration_ms, status_code, response, error, outcome
        FROM attempts WHERE delivery_seq IN
          (SELECT seq FROM deliveries WHERE event_seq = ${row.seq})
        ORDER BY delivery_seq, n`;
      const deliveries: DeliveryDetail[] = deliveryRows.map((d) => ({
        id: d.id as string,
        destination: d.destination as string,
        status: d.status as DeliveryDetail['status'],
        nextAt: d.status === 'pending' ? Number(d.next_at) : null,
        lastError: (d.last_error as string | null) ?? null,
        attempts: attemptRows
          .filter((a) => String(a.delivery_seq) === String(d.seq))
          .map((a) => attemptRecord(a)),
      }));
      return {
        ...summary(row),
        headers: JSON.parse(row.headers as string) as [string, string][],
        contentType: (row.content_type as string | null) ?? null,
        body: new Uint8Array(row.body as Buffer),
        deliveries,
      };
    });
  }

  async claimDeliveries(
    destination: string,
    limit: number,
    now: number,
    leaseUntil: number,
  ): Promise<Lease[]> {
    const rows = await this.#run((sql) =>
      sql.unsafe(CLAIM, [destination, now, limit, leaseUntil], { prepare: true }),
    );
    return rows.map((r: Row) => ({
      seq: Number(r.seq),
      id: r.id as string,
      destination,
      attempt: Number(r.attempts) + 1,
      leaseUntil,
      event: {
        id: r.event_id as string,
        source: r.source as string,
        type: (r.type as string | null) ?? null,
        headers: JSON.parse(r.headers as string) as [string, string][],
        contentType: (r.content_type as string | null) ?? null,
        body: new Uint8Array(r.body as Buffer),
      },
    }));
  }

  /** Written with the others finished in the same tick, in one statement. */
  finishAttempt(lease: Lease, attempt: AttemptRecord, verdict: Verdict): Promise<void> {
    return this.#finished.add({ lease, attempt, verdict });
  }

  async #writeFinished(batch: FinishedAttempt[]): Promise<void> {
    const a = batch.map((f) => f.attempt);
    await this.#run((sql) =>
      sql.unsafe(
        FINISH_BATCH,
        [
          batch.map((f) => f.lease.seq),
          a.map((x) => x.n),
          a.map((x) => x.startedAt),
          a.map((x) => x.durationMs),
          a.map((x) => x.statusCode),
          a.map((x) => x.response),
          a.map((x) => x.error),
          a.map((x) => x.outcome),
          Date.now(),
          batch.map((f) => f.verdict.status),
          batch.map((f) => nextAtAfter(f.attempt, f.verdict)),
          batch.map((f) => lastError(f.attempt, f.verdict)),
          batch.map((f) => f.lease.leaseUntil),
        ] as never[],
        { prepare: true },
      ),
    );
  }

  async releaseLeases(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    await this.#run(
      (sql) => sql`
        UPDATE deliveries d SET lease_until = NULL
        FROM unnest(${leases.map((l) => l.seq)}::bigint[], ${leases.map((l) => l.leaseUntil)}::bigint[])
          AS l(seq, lease_until)
        WHERE d.seq = l.seq AND d.lease_until = l.lease_until`,
    );
  }

  async replayEvent(
    id: string,
    destination: string | undefined,
    now: number,
    dryRun: boolean,
  ): Promise<{ id: string | null; destination: string }[] | undefined> {
    return this.#run((sql) =>
      sql.begin(async (tx) => {
        const [event] = await tx`SELECT seq FROM events WHERE id = ${id}`;
        if (!event) return undefined;
        // A replay keeps the ordering key the destination's earlier delivery had.
        const earlier = new Map(
          (
            await tx`SELECT destination, max(ordering_key) AS ordering_key FROM deliveries
                     WHERE event_seq = ${event.seq} GROUP BY destination ORDER BY destination`
          ).map((d) => [d.destination as string, (d.ordering_key as string | null) ?? null]),
        );
        const targets = destination === undefined ? [...earlier.keys()] : [destination];
        if (dryRun) return targets.map((d) => ({ id: null, destination: d }));
        const created = targets.map((d) => ({ id: newId('hyd', now), destination: d }));
        if (created.length === 0) return created;
        await tx`
          INSERT INTO deliveries (id, event_seq, destination, next_at, updated_at, ordering_key)
          SELECT c.id, ${event.seq}, c.destination, ${now}, ${now}, c.ordering_key
          FROM unnest(${created.map((c) => c.id)}::text[], ${targets}::text[],
                      ${targets.map((d) => earlier.get(d) ?? null)}::text[])
            AS c(id, destination, ordering_key)`;
        return created;
      }),
    ).then((created) => {
      // dry runs create nothing (their ids are null)
      const made = created?.filter((c) => c.id !== null) ?? [];
      if (made.length > 0) this.#announce(made.map((c) => c.destination));
      return created;
    });
  }

  async nextDueAt(destination: string, now: number): Promise<number | null> {
    const [row] = await this.#run((sql) =>
      sql.unsafe(NEXT_DUE, [destination, now, destination, now], { prepare: true }),
    );
    return earliestDue(row);
  }

  async prune(before: number, limit: number): Promise<number> {
    // Row locks on old rows only, oldest first by primary key, in a short transaction; rows
    // another process is pruning right now are skipped rather than waited for. Deliveries and
    // attempts go by ON DELETE CASCADE.
    const rows = await this.#run(
      (sql) => sql`
        DELETE FROM events WHERE seq IN (
          SELECT seq FROM events WHERE received_at < ${before}
          ORDER BY seq LIMIT ${limit} FOR UPDATE SKIP LOCKED)`,
    );
    return rows.count;
  }

  async ping(): Promise<void> {
    await this.#run(async (sql) => {
      // Reachable and writable: a standby in recovery would refuse every commit.
      const [row] = await sql`SELECT pg_is_in_recovery() AS standby`;
      if (row?.standby) throw new Error('the database is a read-only standby');
    });
  }

  watch(listener: (destinations: readonly string[] | null) => void): () => void {
    this.#watchers.add(listener);
    if (!this.#listener) {
      // `onnotify` is the client's pool-level hook (used by its own listen(); not in its types).
      const options = {
        max: 1,
        idle_timeout: 0,
        max_lifetime: 0,
        connect_timeout: this.#connectTimeoutSec,
        backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
        onnotice: () => undefined,
        connection: { application_name: 'hookyard-listen' },
        onnotify: (_channel: string, payload: string) => this.#notified(payload),
        onclose: () => this.#scheduleListen(1000),
      };
      this.#listener = postgres(this.#url, options);
      this.#scheduleListen(0);
    }
    return () => {
      this.#watchers.delete(listener);
    };
  }

  #notified(payload: string): void {
    const colon = payload.indexOf(':');
    if (payload.slice(0, colon) === this.#instance) return; // our own: woken in-process already
    const destinations = payload.slice(colon + 1).split(',');
    for (const w of this.#watchers) w(destinations);
  }

  #scheduleListen(ms: number): void {
    if (this.#closed || !this.#listener) return;
    clearTimeout(this.#relisten);
    this.#relisten = setTimeout(() => {
      this.#listener?.unsafe(`LISTEN ${CHANNEL}`).then(
        // Listening (again): whatever was notified meanwhile is lost, so everyone looks.
        () => {
          for (const w of this.#watchers) w(null);
        },
        () => this.#scheduleListen(1000),
      );
    }, ms);
    this.#relisten.unref();
  }

  /**
   * Tells other processes' idle workers that `destinations` have new due deliveries. The NOTIFY
   * is a statement of its own, sent after the data has committed, one at a time (those asked
   * for meanwhile go together in the next). Inside the inserting transaction it held
   * PostgreSQL's database-wide notify lock through that commit's WAL flush, so every commit
   * that notified waited for the one before (bench/store/retention-load.ts saw up to 7
   * waiting at 1,500 events/s). A NOTIFY that fails is only a missed hint: this process's own
   * workers are woken in-process, and other processes' idle workers look again within 30 s.
   */
  #announce(destinations: Iterable<string>): void {
    for (const d of destinations) this.#toAnnounce.add(d);
    if (this.#announcing || this.#toAnnounce.size === 0 || this.#closed) return;
    this.#announcing = true;
    const payload = `${this.#instance}:${[...this.#toAnnounce].join(',')}`;
    this.#toAnnounce.clear();
    this.#sql`SELECT pg_notify(${CHANNEL}, ${payload})`.then(
      () => {
        this.#announcing = false;
        this.#announce([]);
      },
      () => {
        this.#announcing = false;
      },
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#relisten);
    await Promise.all([this.#sql.end({ timeout: 5 }), this.#listener?.end({ timeout: 1 })]);
  }
}
