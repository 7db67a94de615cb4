// Numbered migrations for SQLite, applied in order, each once, inside one transaction.
// Never edit a migration that has shipped: add the next number.
import type { Migration } from '../contract.ts';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events',
    sql: `
      CREATE TABLE events (
        seq          INTEGER PRIMARY KEY,
        id           TEXT    NOT NULL UNIQUE,
        source       TEXT    NOT NULL,
        event_id     TEXT    NOT NULL,
        type         TEXT,
        received_at  INTEGER NOT NULL,
        headers      TEXT    NOT NULL,
        content_type TEXT,
        body         BLOB    NOT NULL,
        UNIQUE (source, event_id)
      );
      -- One secondary index only: each index is a page written per commit, and ingest is
      -- bound by WAL bytes per event (bench/README.md). Type and time filters scan from the
      -- newest rows down, using this index when a source is given.
      CREATE INDEX events_source_seq ON events (source, seq);
    `,
  },
  {
    version: 2,
    name: 'deliveries',
    sql: `
      -- One row per (event, destination) a route matched, written in the event's transaction.
      -- status: pending (leased while lease_until is in the future) | delivered | dead.
      CREATE TABLE deliveries (
        seq          INTEGER PRIMARY KEY,
        id           TEXT    NOT NULL UNIQUE,
        event_seq    INTEGER NOT NULL REFERENCES events (seq),
        destination  TEXT    NOT NULL,
        status       TEXT    NOT NULL DEFAULT 'pending',
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_at      INTEGER NOT NULL,
        lease_until  INTEGER,
        updated_at   INTEGER NOT NULL,
        last_error   TEXT,
        -- destination ordering_key's value: one key's deliveries go one at a time, in order
        ordering_key TEXT
      );
      CREATE INDEX deliveries_due ON deliveries (destination, next_at) WHERE status = 'pending';
      CREATE INDEX deliveries_ordered ON deliveries (destination, ordering_key, seq)
        WHERE status = 'pending' AND ordering_key IS NOT NULL;
      CREATE INDEX deliveries_event ON deliveries (event_seq);
      CREATE TABLE attempts (
        seq          INTEGER PRIMARY KEY,
        delivery_seq INTEGER NOT NULL REFERENCES deliveries (seq),
        n            INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        duration_ms  INTEGER NOT NULL,
        status_code  INTEGER,
        response     TEXT,
        error        TEXT,
        outcome      TEXT    NOT NULL
      );
      CREATE INDEX attempts_delivery ON attempts (delivery_seq);
    `,
  },
  {
    version: 3,
    name: 'leased deliveries',
    sql: `
      -- nextDueAt's earliest lease to run out: only rows leased right now (a few per worker)
      CREATE INDEX deliveries_leased ON deliveries (destination, lease_until)
        WHERE lease_until IS NOT NULL;
    `,
  },
  {
    version: 4,
    name: 'stream cursor',
    // Nothing to add here: one connection writes, one transaction at a time, so seq order is
    // commit order (PostgreSQL's migration 4 adds what it needs for the same guarantee). The
    // version is kept so that both dialects count their schema alike.
    sql: 'SELECT 1',
  },
];
