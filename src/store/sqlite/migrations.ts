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
  {
    version: 5,
    name: 'search',
    sql: `
      -- q= of GET /api/events (src/store/search.ts). Filled behind the commit by a background
      -- indexer with the terms computed in JavaScript, space-separated: the ascii tokenizer
      -- with these token characters splits them at the spaces only (a non-ASCII character is
      -- always a token character), so the terms stored are exactly those computed, as on
      -- PostgreSQL. Contentless (the events hold the text), deletable (retention), no
      -- positions (queries are words and prefixes, never phrases): ~0.9 KB per 1 KB event.
      CREATE VIRTUAL TABLE event_search USING fts5(
        terms, tokenize = "ascii tokenchars '-_.@'",
        content = '', contentless_delete = 1, detail = none);
      -- Every event with seq <= indexed is in event_search (or gone).
      CREATE TABLE search_state (indexed INTEGER NOT NULL);
      INSERT INTO search_state (indexed) VALUES (0);
      -- Retention deletes events: their terms go too, and since SQLite gives the next event
      -- max(seq) + 1, a watermark above the newest event left would skip the events that
      -- reuse those numbers, so it comes down to it.
      CREATE TRIGGER events_unindex AFTER DELETE ON events BEGIN
        DELETE FROM event_search WHERE rowid = old.seq;
        UPDATE search_state SET indexed = min(indexed, coalesce((SELECT max(seq) FROM events), 0));
      END;
    `,
  },
  {
    version: 6,
    name: 'activity and destination health',
    sql: `
      -- Counts per minute for the activity chart (GET /api/series) and the recent outcomes of
      -- GET /api/destinations, added every few seconds from each process's counters
      -- (src/store/series.ts) and kept 8 days: a row a minute, and one per destination.
      CREATE TABLE stats_minute (
        bucket    INTEGER PRIMARY KEY, -- Unix ms of the minute's start
        received  INTEGER NOT NULL,
        delivered INTEGER NOT NULL,
        failed    INTEGER NOT NULL
      );
      CREATE TABLE destination_stats_minute (
        destination   TEXT    NOT NULL,
        bucket        INTEGER NOT NULL,
        delivered     INTEGER NOT NULL,
        failed        INTEGER NOT NULL,
        last_error    TEXT,    -- the minute's newest failed attempt's error
        last_error_at INTEGER,
        PRIMARY KEY (destination, bucket)
      ) WITHOUT ROWID;
      CREATE INDEX destination_stats_errors ON destination_stats_minute (destination, bucket)
        WHERE last_error IS NOT NULL;
      CREATE INDEX destination_stats_bucket ON destination_stats_minute (bucket);
      -- Destination health reads the queue through partial indexes, as big as the backlog:
      -- the pending count and the oldest pending delivery (min(seq): the rowid is in every
      -- index) through deliveries_due, the dead count through this one, which is written only
      -- when a delivery dies.
      CREATE INDEX deliveries_dead ON deliveries (destination) WHERE status = 'dead';
    `,
  },
  {
    version: 7,
    name: 'trace context',
    sql: `
      -- The W3C trace context a delivery attempt's span is parented on (src/tracing.ts), NULL
      -- unless tracing is on or the sender sent a traceparent: a NULL costs a byte a row.
      ALTER TABLE events ADD COLUMN trace_context TEXT;
    `,
  },
  {
    version: 8,
    name: 'listeners',
    sql: `
      -- Durable listeners (hookyard listen --name, docs/spec.md §6): the cursor of the last
      -- event the listener's local app answered 2xx for. seq is the cursor as a number, so
      -- an acknowledgement can move it only forward in one UPSERT.
      CREATE TABLE listeners (
        name       TEXT    PRIMARY KEY,
        cursor     TEXT    NOT NULL,
        seq        INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];
