// Numbered migrations for SQLite, applied in order, each once, inside one transaction.
// Never edit a migration that has shipped: add the next number.
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

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
];
