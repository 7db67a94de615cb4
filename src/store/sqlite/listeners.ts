// The SQLite side of durable listeners (hookyard listen --name): one UPSERT that moves a
// listener's cursor only forward, prepared once when the store opens.
import type { DatabaseSync } from 'node:sqlite';
import type { ListenerRecord } from '../contract.ts';
import type { Row } from '../rows.ts';

const record = (row: Row): ListenerRecord => ({
  name: row.name as string,
  cursor: row.cursor as string,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

export function prepareListeners(db: DatabaseSync) {
  // `>=`: the same cursor again refreshes updated_at; an older one changes nothing.
  const ack = db.prepare(
    `INSERT INTO listeners (name, cursor, seq, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
     ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, seq = excluded.seq,
       updated_at = excluded.updated_at
     WHERE excluded.seq >= listeners.seq
     RETURNING name`,
  );
  const get = db.prepare(
    'SELECT name, cursor, created_at, updated_at FROM listeners WHERE name = ?',
  );
  const list = db.prepare(
    'SELECT name, cursor, created_at, updated_at FROM listeners ORDER BY name',
  );
  return {
    ack(name: string, cursor: string, seq: number, now: number): ListenerRecord {
      ack.all(name, cursor, seq, now);
      return record(get.get(name) as Row);
    },
    get(name: string): ListenerRecord | undefined {
      const row = get.get(name);
      return row ? record(row) : undefined;
    },
    list(): ListenerRecord[] {
      return list.all().map(record);
    },
  };
}

export type ListenerStatements = ReturnType<typeof prepareListeners>;
