// The PostgreSQL side of durable listeners (hookyard listen --name): one UPSERT that moves a
// listener's cursor only forward, the cursor compared as the row (xact, seq) it stands for,
// so that acknowledgements taken by several processes at once never move it back.
import type { ListenerRecord } from '../contract.ts';
import type { Row } from '../rows.ts';
import type { Sql } from './queries.ts';

const prepared = { prepare: true };

const record = (row: Row): ListenerRecord => ({
  name: row.name as string,
  cursor: row.cursor as string,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

// `>=`: the same cursor again refreshes updated_at; an older one changes nothing. The row as
// stored is read in the same statement, whichever way the UPSERT went.
const ACK = `
  WITH up AS (
    INSERT INTO listeners AS l (name, cursor, xact, seq, created_at, updated_at)
    VALUES ($1, $2, $3::numeric, $4::bigint, $5, $5)
    ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, xact = excluded.xact,
      seq = excluded.seq, updated_at = excluded.updated_at
    WHERE (excluded.xact, excluded.seq) >= (l.xact, l.seq)
    RETURNING name, cursor, created_at, updated_at)
  SELECT * FROM up
  UNION ALL
  SELECT name, cursor, created_at, updated_at FROM listeners
  WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM up)`;

export async function ackListener(
  sql: Sql,
  name: string,
  cursor: string,
  at: { xact: string; seq: string },
  now: number,
): Promise<ListenerRecord> {
  const [row] = await sql.unsafe(ACK, [name, cursor, at.xact, at.seq, now], prepared);
  if (row) return record(row);
  // Another process created the listener after this statement's snapshot was taken, and its
  // cursor is ahead: read it as it is now.
  return (await getListener(sql, name)) as ListenerRecord;
}

export async function getListener(sql: Sql, name: string): Promise<ListenerRecord | undefined> {
  const [row] = await sql.unsafe(
    'SELECT name, cursor, created_at, updated_at FROM listeners WHERE name = $1',
    [name],
    prepared,
  );
  return row ? record(row) : undefined;
}

export async function listListeners(sql: Sql): Promise<ListenerRecord[]> {
  const rows = await sql.unsafe(
    'SELECT name, cursor, created_at, updated_at FROM listeners ORDER BY name',
    [],
    prepared,
  );
  return rows.map(record);
}
