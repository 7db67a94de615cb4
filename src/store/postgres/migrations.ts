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
];
