// Numbered migrations for PostgreSQL, applied in order, each once, all in one transaction that
// first takes an advisory lock: several gateways starting at once apply them exactly once (the
// others wait on the lock, then find them recorded). Never edit a migration that has shipped:
// add the next number. The schema mirrors SQLite's (../sqlite/migrations.ts) table for table.
import type { Migration } from '../contract.ts';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events',
    sql: `
      CREATE TABLE events (
        seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id           text   NOT NULL UNIQUE,
        source       text   NOT NULL,
        event_id     text   NOT NULL,
        type         text,
        received_at  bigint NOT NULL,
        headers      text   NOT NULL,
        content_type text,
        body         bytea  NOT NULL,
        UNIQUE (source, event_id)
      );
      CREATE INDEX events_source_seq ON events (source, seq);
    `,
  },
  {
    version: 2,
    name: 'deliveries',
    sql: `
      CREATE TABLE deliveries (
        seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id           text    NOT NULL UNIQUE,
        -- retention deletes events in small batches; their deliveries and attempts go with them
        event_seq    bigint  NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
        destination  text    NOT NULL,
        status       text    NOT NULL DEFAULT 'pending',
        attempts     integer NOT NULL DEFAULT 0,
        next_at      bigint  NOT NULL,
        lease_until  bigint,
        updated_at   bigint  NOT NULL,
        last_error   text,
        ordering_key text
      );
      CREATE INDEX deliveries_due ON deliveries (destination, next_at) WHERE status = 'pending';
      CREATE INDEX deliveries_ordered ON deliveries (destination, ordering_key, seq)
        WHERE status = 'pending' AND ordering_key IS NOT NULL;
      CREATE INDEX deliveries_event ON deliveries (event_seq);
      CREATE TABLE attempts (
        seq          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        delivery_seq bigint  NOT NULL REFERENCES deliveries (seq) ON DELETE CASCADE,
        n            integer NOT NULL,
        started_at   bigint  NOT NULL,
        duration_ms  integer NOT NULL,
        status_code  integer,
        response     text,
        error        text,
        outcome      text    NOT NULL
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
    sql: `
      -- The live stream's order (store contract: eventsAfter). seq is taken when a row is
      -- inserted, not when it commits: a reader that resumed after seq N would skip a row
      -- with a smaller seq committed later by another transaction. The inserting
      -- transaction's id is ordered instead, and read only below the oldest transaction
      -- still running (pg_snapshot_xmin), so no row can appear behind a reader's cursor.
      ALTER TABLE events ADD COLUMN xact xid8 NOT NULL DEFAULT pg_current_xact_id();
      CREATE INDEX events_stream ON events (xact, seq);
    `,
  },
  {
    version: 5,
    name: 'search',
    sql: `
      -- q= of GET /api/events (src/store/search.ts). Filled behind the commit by a background
      -- indexer with the terms computed in JavaScript, the same as SQLite's, made a tsvector
      -- with array_to_tsvector (no parser, no dictionary: stored as computed). GIN's pending
      -- list keeps each insert cheap; retention's deletes cascade.
      CREATE TABLE event_search (
        seq   bigint   PRIMARY KEY REFERENCES events (seq) ON DELETE CASCADE,
        terms tsvector NOT NULL
      );
      CREATE INDEX event_search_terms ON event_search USING gin (terms);
      -- The indexer's position in the stream's order (xact, seq): every event before it is
      -- indexed. Read and moved under an advisory lock, so one process indexes at a time.
      CREATE TABLE search_state (
        xact xid8   NOT NULL,
        seq  bigint NOT NULL
      );
      INSERT INTO search_state (xact, seq) VALUES ('0', 0);
    `,
  },
  {
    version: 6,
    name: 'activity and destination health',
    sql: `
      -- Counts per minute for the activity chart (GET /api/series) and the recent outcomes of
      -- GET /api/destinations, added every few seconds from each process's counters
      -- (src/store/series.ts) by an UPSERT that adds, so processes sharing the database add
      -- up; kept 8 days: a row a minute, and one per destination.
      CREATE TABLE stats_minute (
        bucket    bigint PRIMARY KEY, -- Unix ms of the minute's start
        received  bigint NOT NULL,
        delivered bigint NOT NULL,
        failed    bigint NOT NULL
      );
      CREATE TABLE destination_stats_minute (
        destination   text   NOT NULL,
        bucket        bigint NOT NULL,
        delivered     bigint NOT NULL,
        failed        bigint NOT NULL,
        last_error    text,   -- the minute's newest failed attempt's error
        last_error_at bigint,
        PRIMARY KEY (destination, bucket)
      );
      CREATE INDEX destination_stats_errors ON destination_stats_minute (destination, bucket)
        WHERE last_error IS NOT NULL;
      CREATE INDEX destination_stats_bucket ON destination_stats_minute (bucket);
      -- Destination health reads the queue through partial indexes, as big as the backlog.
      -- deliveries_due again, with seq in it: the pending count and the oldest pending
      -- delivery (min(seq)) come from one index-only scan, and the write path gets no index
      -- more. deliveries_dead is written only when a delivery dies.
      DROP INDEX deliveries_due;
      CREATE INDEX deliveries_due ON deliveries (destination, next_at) INCLUDE (seq)
        WHERE status = 'pending';
      CREATE INDEX deliveries_dead ON deliveries (destination) WHERE status = 'dead';
    `,
  },
  {
    version: 7,
    name: 'trace context',
    sql: `
      -- The W3C trace context a delivery attempt's span is parented on (src/tracing.ts), NULL
      -- unless tracing is on or the sender sent a traceparent. Nullable without a default:
      -- adding it rewrites nothing.
      ALTER TABLE events ADD COLUMN trace_context text;
    `,
  },
  {
    version: 8,
    name: 'listeners',
    sql: `
      -- Durable listeners (hookyard listen --name, docs/spec.md §6): the cursor of the last
      -- event the listener's local app answered 2xx for. (xact, seq) is the cursor as numbers,
      -- compared as a row, so an acknowledgement moves it only forward in one UPSERT, also
      -- when several processes take acknowledgements at once.
      CREATE TABLE listeners (
        name       text    PRIMARY KEY,
        cursor     text    NOT NULL,
        xact       numeric NOT NULL,
        seq        bigint  NOT NULL,
        created_at bigint  NOT NULL,
        updated_at bigint  NOT NULL
      );
    `,
  },
];
