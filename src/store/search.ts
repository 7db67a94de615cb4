// Search (`q=` of GET /api/events): what is indexed and how a query matches, computed here once
// for both dialects, so that SQLite (FTS5) and PostgreSQL (tsvector + GIN) give the same answer;
// and the background indexer that keeps the index behind the commit, never in it.
//
// An event's searchable text is its Hookyard id, the sender's event id, its type and the first
// 64 KiB of its body when that is UTF-8 (other bodies add nothing; a form is decoded, JSON
// escapes are undone). The text is lowercased and cut into words: runs of letters and digits,
// joined by `_ - . @` (`cus_123`, `pi_3N…`, `payment_intent.succeeded`, `jenny@example.com`).
// Each word is indexed as it is, and from the part after each `.` or `@` on
// (`jenny@example.com` also as `example.com` and `com`, the type also as `succeeded`). A query
// word matches an event when it begins one of these terms: `cus_123`, `CUS_12`, `pi_3N` and
// `example.com` all find their event; `123` does not find `cus_123`. A query word of one or two
// characters must match a whole term (a prefix that short would match most of the index).
// Every word of the query must match. Both dialects store exactly these terms, computed here:
// the database only looks them up.
//
// Why words and not trigrams (any substring): measured with 1 KB Stripe-like bodies, an FTS5
// trigram index cost 330 µs and 3.7 KB per event — three times the whole cost of receiving the
// event — and pg_trgm 440 µs of PostgreSQL's CPU per event, against ~21 µs and 0.45 KB (FTS5)
// and ~66 µs and 2.4 KB (tsvector + GIN) for these terms, plus ~15 µs here to compute them.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

/** Bytes of a body that are searched. */
export const SEARCH_BODY_BYTES = 64 * 1024;
/** Characters of a term kept (ids are shorter; a long base64 run needs no more). */
const MAX_TERM = 64;
/** Characters of terms kept per event, in order of appearance: at most 3 bytes each in UTF-8,
 * well below PostgreSQL's 1 MB for a tsvector even when every term is different. */
const TERM_BUDGET = 128 * 1024;
/** A query word shorter than this matches whole terms only. */
const MIN_PREFIX = 3;

// Letters (any script), marks and digits, in runs joined by _ - . @ ; a word never starts or
// ends with a joiner.
const WORD = /[\p{L}\p{M}\p{N}]+(?:[-_.@]+[\p{L}\p{M}\p{N}]+)*/gu;
// JSON string escapes: `\n` is not the letter n of the next word, `\u00e9` is é.
const JSON_ESCAPE = /\\(?:u([0-9a-fA-F]{4})|["\\/bfnrt])/g;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Where the last whole UTF-8 character of `bytes` ends: before a lead byte whose sequence
 * runs past the end (RFC 3629 §3). Invalid bytes are left for the decoder to refuse. */
function charBoundary(bytes: Uint8Array): number {
  const end = bytes.byteLength;
  for (let i = end - 1; i >= 0 && i >= end - 4; i--) {
    const b = bytes[i] as number;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + length > end ? i : end;
  }
  return end;
}

/** At most MAX_TERM UTF-16 units, never half of a surrogate pair. */
function cut(term: string): string {
  if (term.length <= MAX_TERM) return term;
  const code = term.charCodeAt(MAX_TERM - 1);
  return term.slice(0, code >= 0xd800 && code < 0xdc00 ? MAX_TERM - 1 : MAX_TERM);
}

/** The first SEARCH_BODY_BYTES of a body as text, or '' when they are not UTF-8. `size` is the
 * whole body's length: a body cut short may end inside a character, which is then dropped. */
export function bodyText(head: Uint8Array, size: number, contentType: string | null): string {
  let text: string;
  try {
    text = utf8.decode(size > head.byteLength ? head.subarray(0, charBoundary(head)) : head);
  } catch {
    return '';
  }
  // A form's fields (Slack's slash commands and `payload=`) are percent-encoded: searched
  // decoded, as the sender wrote them.
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const fields: string[] = [];
    for (const [k, v] of new URLSearchParams(text)) fields.push(k, v);
    text = fields.join('\n');
  }
  return text.replace(JSON_ESCAPE, (_, hex: string | undefined) =>
    hex === undefined ? ' ' : String.fromCharCode(parseInt(hex, 16)),
  );
}

/** `_ - . @`: the characters that join the parts of a word. */
const isJoiner = (code: number) => code === 95 || code === 45 || code === 46 || code === 64;
/** `. @`: where a word is also indexed from the next part on (domains, the type after its
 * resource). After `_` and `-` it is not: the rest of `pi_3N…`, `cus_123` or a UUID is never
 * searched for alone, and those terms, each different, were half of the index's size. */
const isSplitter = (code: number) => code === 46 || code === 64;

/** The terms an event is indexed under (see the top of this file): a term may repeat, the
 * database keeps it once. Stops at TERM_BUDGET characters. */
export function searchTerms(parts: readonly (string | null)[]): string[] {
  const terms: string[] = [];
  let budget = TERM_BUDGET;
  const add = (term: string) => {
    const t = cut(term);
    budget -= t.length;
    if (budget >= 0) terms.push(t);
  };
  for (const part of parts) {
    for (const word of part?.toLowerCase().match(WORD) ?? []) {
      add(word);
      // and from the part after each `.` or `@` on (a word never ends with a joiner)
      for (let i = 0; i < word.length; i++) {
        if (!isJoiner(word.charCodeAt(i))) continue;
        let splits = isSplitter(word.charCodeAt(i));
        // (`++i` outside `||=`, which would skip it once `splits` is true: `a.__b` looped)
        while (isJoiner(word.charCodeAt(i + 1))) {
          i++;
          if (isSplitter(word.charCodeAt(i))) splits = true;
        }
        if (splits) add(word.slice(i + 1));
      }
      if (budget < 0) return terms;
    }
  }
  return terms;
}

/** What is indexed of one event: its terms, space-separated (no term holds a space). */
export function indexText(e: {
  id: string;
  eventId: string;
  type: string | null;
  contentType: string | null;
  /** The whole body's length, and its first SEARCH_BODY_BYTES. */
  size: number;
  head: Uint8Array;
}): string {
  return searchTerms([e.id, e.eventId, e.type, bodyText(e.head, e.size, e.contentType)]).join(' ');
}

/** A query, parsed: each word, and whether it matches as a prefix (else whole terms only). */
export interface SearchQuery {
  words: { term: string; prefix: boolean }[];
}

/** The words of `q`, or a RangeError when it has none (only punctuation, or empty). */
export function parseSearch(q: string): SearchQuery {
  const words = new Map<string, boolean>();
  for (const [word] of q.toLowerCase().matchAll(WORD)) {
    const term = cut(word);
    words.set(term, [...term].length >= MIN_PREFIX);
  }
  if (words.size === 0) throw new RangeError('q has no word to search for');
  return { words: [...words].map(([term, prefix]) => ({ term, prefix })) };
}

/** How far the index is behind what is stored. */
export interface SearchLag {
  /** Stored events not indexed yet. */
  events: number;
  /** Age of the oldest of them, in ms (0 when none). */
  ms: number;
}

/** What a dialect gives the indexer (implemented by both stores). */
export interface SearchIndexStore {
  /**
   * Indexes up to `limit` events stored after the index's watermark and moves the watermark,
   * in one short transaction. Resolves to how many it indexed, or null when another process
   * is indexing right now.
   */
  indexSearch(limit: number): Promise<number | null>;
}

export interface SearchIndexerOptions {
  /** Events per transaction. Default 100: on SQLite a batch runs on the event loop, ~4 ms. */
  batch?: number;
  /** How often to look for new events while there is nothing to index, in ms. Default 250. */
  intervalMs?: number;
  /**
   * The most of the process's time the indexer takes while it catches up and the event loop
   * is busy with other work (ingest) at least 70% of the time, as a fraction. Default 0.02:
   * under a load that saturates the process the index falls behind rather than slowing
   * ingest, and catches up afterwards.
   */
  busyShare?: number;
  /** The same while the event loop is busy at most 30% of the time (in between, a share in
   * between). Default 0.5. */
  idleShare?: number;
}

/**
 * Keeps the search index behind the commit. While there is work it indexes a batch, then rests
 * long enough that its batches take the share of the time that the event loop's other work
 * during the last rest leaves it (`busyShare` … `idleShare`); with nothing to index it looks
 * again every `intervalMs`. So a gateway that is not busy has its index trail by about
 * `intervalMs`, and a saturated one's falls behind until the load eases (the store's
 * searchLag() says by how much).
 */
export class SearchIndexer {
  readonly #store: SearchIndexStore;
  readonly #logger: Logger;
  readonly #options: Required<SearchIndexerOptions>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Events indexed by this process since it started. */
  indexed = 0;

  constructor(store: SearchIndexStore, logger: Logger, options: SearchIndexerOptions = {}) {
    this.#store = store;
    this.#logger = logger;
    this.#options = { batch: 100, intervalMs: 250, busyShare: 0.02, idleShare: 0.5, ...options };
  }

  start(): void {
    this.#schedule(0, performance.eventLoopUtilization());
  }

  #schedule(ms: number, since: EventLoopUtilization): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#pass(since).finally(() => (this.#running = undefined));
    }, ms);
    this.#timer.unref();
  }

  async #pass(restStart: EventLoopUtilization): Promise<void> {
    // How busy the event loop was while the indexer rested: other work wants the process.
    const { busyShare, idleShare } = this.#options;
    const busy = performance.eventLoopUtilization(restStart).utilization;
    const share =
      idleShare + (busyShare - idleShare) * Math.min(1, Math.max(0, (busy - 0.3) / 0.4));
    const started = performance.now();
    let next = this.#options.intervalMs;
    try {
      const n = await this.#store.indexSearch(this.#options.batch);
      if (n !== null) this.indexed += n;
      if (n === this.#options.batch) {
        const took = performance.now() - started;
        next = (took * (1 - share)) / share;
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'search: indexing failed; trying again later');
      next = Math.max(next, 1000);
    }
    this.#schedule(next, performance.eventLoopUtilization());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}

type EventLoopUtilization = ReturnType<typeof performance.eventLoopUtilization>;
