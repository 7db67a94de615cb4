// Search on PostgreSQL: the tsvector table of migration 5 (`event_search`), filled behind the
// commit (../search.ts has the terms and the indexer). Several processes may share the
// database, and seq is taken at insert, not at commit: the indexer walks the stream's order
// instead — (xact, seq), read only below the oldest transaction still running, as eventsAfter
// does (queries.ts) — so an event committed late by another process is never skipped. Its
// position is a row moved in the transaction that indexes, under an advisory lock that one
// process holds at a time; the others find it taken and wait for their next turn.
import { HORIZON as STREAM_HORIZON } from './horizon.ts';
import type postgres from 'postgres';
import { indexText, SEARCH_BODY_BYTES, type SearchLag, type SearchQuery } from '../search.ts';
import type { Sql } from './queries.ts';

const prepared = { prepare: true };

/** listEvents' condition: a tsquery of the words, each a quoted lexeme (taken as written: no
 * parser, no dictionary) with `:*` for a prefix, `&` between them. No term holds a quote or a
 * backslash (../search.ts: letters, marks, digits and `_ - . @`). */
export function searchCondition(n: number, query: SearchQuery): { sql: string; value: string } {
  return {
    sql: `e.seq IN (SELECT s.seq FROM event_search s WHERE s.terms @@ $${n}::tsquery)`,
    value: query.words.map((w) => `'${w.term}'${w.prefix ? ':*' : ''}`).join(' & '),
  };
}

/** The same, one event at a time: a lookup by primary key per event of a window. A scalar
 * subquery, because PostgreSQL turns an EXISTS into a join, which it ran as every match from
 * the GIN index sorted (725 ms for two common words on 1,000,000 events). */
export function searchRowCondition(n: number, query: SearchQuery): { sql: string; value: string } {
  return {
    sql: `(SELECT s.terms FROM event_search s WHERE s.seq = e.seq) @@ $${n}::tsquery`,
    value: searchCondition(n, query).value,
  };
}

/** "hyse" in ASCII, and this schema: stores in different schemas of a database do not wait
 * for each other. Taken with the transaction, so it is let go whatever happens. */
const LOCK = `SELECT pg_try_advisory_xact_lock(${0x68797365}, hashtext(current_schema())) AS locked`;

/** The oldest transaction still running: every transaction before it has ended, so the rows
 * they committed are all there is below it. Read before the rows, not after: a horizon read
 * later may have passed a transaction that committed rows in between, unread. */
// This database's horizon (queries.ts): a long transaction in another database of the cluster
// does not hold the index back.
const HORIZON = `SELECT ${STREAM_HORIZON}::text AS horizon`;

const PENDING = `
  SELECT e.seq::text AS seq, e.id, e.event_id, e.type, e.content_type, length(e.body) AS size,
    substring(e.body FROM 1 FOR ${SEARCH_BODY_BYTES}) AS head, e.xact::text AS xact
  FROM events e, search_state w
  WHERE (e.xact, e.seq) > (w.xact, w.seq) AND e.xact < $2::text::xid8
  ORDER BY e.xact, e.seq LIMIT $1`;

// Joined with events: an event that retention deleted meanwhile is left out (its row would
// break the foreign key), not an error for the whole batch.
const INSERT = `
  INSERT INTO event_search (seq, terms)
  SELECT u.seq, array_to_tsvector(string_to_array(u.terms, ' '))
  FROM unnest($1::bigint[], $2::text[]) AS u(seq, terms) JOIN events e ON e.seq = u.seq
  ON CONFLICT (seq) DO NOTHING`;

/** Indexes up to `limit` events past the watermark, in one transaction; null when another
 * process holds the lock. A pass that finds nothing new writes nothing. */
export function indexSearch(sql: postgres.Sql, limit: number): Promise<number | null> {
  return sql.begin(async (tx) => {
    const [lock] = await tx.unsafe(LOCK);
    if (!lock?.locked) return null;
    const [state] = await tx.unsafe(
      'SELECT xact::text AS xact, seq::text AS seq FROM search_state',
    );
    const [h] = await tx.unsafe(HORIZON);
    const horizon = h?.horizon as string;
    const rows = await tx.unsafe(PENDING, [limit, horizon], prepared);
    if (rows.length > 0) {
      const texts = rows.map((r) =>
        indexText({
          id: r.id as string,
          eventId: r.event_id as string,
          type: r.type as string | null,
          contentType: r.content_type as string | null,
          size: Number(r.size),
          head: r.head as Buffer,
        }),
      );
      await tx.unsafe(INSERT, [rows.map((r) => r.seq as string), texts] as never[], prepared);
    }
    // Past the last row read; or, when the read did not fill the batch, past everything below
    // the horizon (a transaction with that id, should it commit rows, comes after `.0`).
    const last = rows.at(-1);
    const next =
      last && rows.length === limit
        ? { xact: last.xact as string, seq: last.seq as string }
        : { xact: horizon, seq: '0' };
    if (next.xact !== state?.xact || next.seq !== state.seq) {
      await tx.unsafe('UPDATE search_state SET xact = $1::text::xid8, seq = $2::bigint', [
        next.xact,
        next.seq,
      ]);
    }
    return rows.length;
  }) as Promise<number | null>;
}

export async function searchLag(sql: Sql, now: number): Promise<SearchLag> {
  const [row] = await sql.unsafe(
    `SELECT count(*)::int AS events, min(e.received_at)::text AS oldest
     FROM events e, search_state w WHERE (e.xact, e.seq) > (w.xact, w.seq)`,
  );
  const oldest = row?.oldest as string | null | undefined;
  return { events: Number(row?.events ?? 0), ms: oldest ? now - Number(oldest) : 0 };
}
