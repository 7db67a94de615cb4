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
      CREATE INDEX events_source_seq ON events (source, seq);
      CREATE INDEX events_type_seq ON events (type, seq);
      CREATE INDEX events_received_at ON events (received_at);
    `,
  },
];
