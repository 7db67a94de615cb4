// Search on SQLite: the FTS5 table of migration 5 (`event_search`, rowid = the event's seq),
// filled behind the commit (../search.ts has the terms and the indexer). One connection writes,
// so the watermark is a seq: every event at or below it is indexed.
import type { DatabaseSync } from 'node:sqlite';
import { indexText, SEARCH_BODY_BYTES, type SearchLag, type SearchQuery } from '../search.ts';
import type { SearchClause } from '../sql.ts';
import { transaction } from './transaction.ts';

/** listEvents' condition: an FTS5 query where each word is a string (its characters are all
 * token characters of the table's tokenizer, so it stays one token) and, when long enough, a
 * prefix query; `AND` between them. */
export function searchCondition(_n: number, query: SearchQuery): SearchClause {
  return {
    // Read from the index newest first (FTS5 walks a doclist backwards for ORDER BY rowid
    // DESC), joined to events: on 1,000,000 events a word in every body took 230 ms as
    // `e.seq IN (every match)` and 80–110 ms so (a prefix query still reads its whole merged
    // doclist; a whole word, under 1 ms). bench/api.
    from: 'event_search s JOIN events e ON e.seq = s.rowid',
    seq: 's.rowid',
    sql: 'event_search MATCH ?',
    value: query.words.map((w) => `"${w.term}"${w.prefix ? ' *' : ''}`).join(' AND '),
  };
}

export function prepareSearch(db: DatabaseSync) {
  const pending = db.prepare(
    `SELECT seq, id, event_id, type, content_type, length(body) AS size,
       substr(body, 1, ${SEARCH_BODY_BYTES}) AS head
     FROM events WHERE seq > (SELECT indexed FROM search_state) ORDER BY seq LIMIT ?`,
  );
  const insert = db.prepare('INSERT INTO event_search (rowid, terms) VALUES (?, ?)');
  const mark = db.prepare('UPDATE search_state SET indexed = ?');
  const lag = db.prepare(
    `SELECT count(*) AS events, min(received_at) AS oldest
     FROM events WHERE seq > (SELECT indexed FROM search_state)`,
  );
  return {
    /** Indexes up to `limit` events past the watermark; how many it did. The terms are
     * computed before the write transaction, which holds only the inserts. */
    index(limit: number): number {
      const rows = pending.all(limit);
      const last = rows.at(-1);
      if (!last) return 0;
      const docs = rows.map((r) => ({
        seq: r.seq as number,
        text: indexText({
          id: r.id as string,
          eventId: r.event_id as string,
          type: r.type as string | null,
          contentType: r.content_type as string | null,
          size: Number(r.size),
          head: r.head as Uint8Array,
        }),
      }));
      transaction(db, () => {
        for (const d of docs) insert.run(d.seq, d.text);
        mark.run(last.seq as number);
      });
      return rows.length;
    },
    lag(now: number): SearchLag {
      const row = lag.get() as { events: number; oldest: number | null };
      return { events: Number(row.events), ms: row.oldest === null ? 0 : now - row.oldest };
    },
  };
}

export type SearchStatements = ReturnType<typeof prepareSearch>;
