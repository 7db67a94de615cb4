// Search (q= of GET /api/events) through the store contract, every test on both dialects: what
// a query finds, that it combines with the other filters and the cursor, that the index
// trails the commit and catches up, that retention takes terms away — and on PostgreSQL, two
// processes indexing while transactions commit out of seq order index every event once.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import postgres from 'postgres';
import { type NewEvent, type Store, StoreUnavailableError } from '../../src/store/contract.ts';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { parseSearch, SearchIndexer, searchTerms } from '../../src/store/search.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { newEvent } from '../helpers/events.ts';
import {
  createTestDatabase,
  POSTGRES_SKIP,
  POSTGRES_UNREACHABLE_URL,
  type TestDatabase,
} from '../helpers/postgres.ts';

interface Dialect {
  name: string;
  skip: string | false;
  /** A fresh, empty store location, and a way to open a store on it (several may share one). */
  location(): Promise<{ open(): Store; url: string }>;
}

const dir = mkdtempSync(join(tmpdir(), 'hookyard-search-'));
let pg: TestDatabase | undefined;
before(async () => {
  if (!POSTGRES_SKIP) pg = await createTestDatabase('hookyard_search');
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await pg?.drop();
});

let n = 0;
const DIALECTS: Dialect[] = [
  {
    name: 'sqlite',
    skip: false,
    async location() {
      const path = join(dir, `s${n++}.db`);
      return { open: () => new SqliteStore(path), url: path };
    },
  },
  {
    name: 'postgres',
    skip: POSTGRES_SKIP,
    async location() {
      const url = await (pg as TestDatabase).schema();
      return { open: () => new PostgresStore(url, { pool: 4 }), url };
    },
  },
];

const T0 = 1_700_000_000_000;
const utf8 = (text: string) => new TextEncoder().encode(text);

/** A Stripe event as Stripe sends it: the ids we look for nested in data.object. */
function stripeEvent(
  eventId: string,
  object: Record<string, unknown>,
  extra: Partial<NewEvent> = {},
) {
  const body = {
    id: eventId,
    object: 'event',
    api_version: '2024-06-20',
    type: 'payment_intent.succeeded',
    data: { object: { object: 'payment_intent', currency: 'usd', ...object } },
  };
  return newEvent(eventId, {
    source: 'stripe',
    type: 'payment_intent.succeeded',
    receivedAt: T0,
    body: utf8(JSON.stringify(body)),
    ...extra,
  });
}

/** Indexes everything stored (one caller: nothing else indexes meanwhile). */
async function indexAll(store: Store): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await store.indexSearch(100);
    assert.notEqual(done, null, 'no other process indexes here');
    total += done as number;
    if ((done as number) < 100) return total;
  }
}

const ids = async (
  store: Store,
  q: string,
  more: Partial<Parameters<Store['listEvents']>[0]> = {},
) => (await store.listEvents({ limit: 50, q, ...more })).data.map((e) => e.id);

for (const d of DIALECTS) {
  describe(`search on ${d.name}`, { skip: d.skip }, () => {
    let store: Store;
    let location: { open(): Store; url: string };
    before(async () => {
      location = await d.location();
      store = location.open();
      await store.migrate();
    });
    after(() => store.close());

    // Events of this describe block, stored once and indexed once.
    const pi = stripeEvent('evt_3NpiCase', {
      id: 'pi_3NxYzAbC123456',
      customer: 'cus_123',
      latest_charge: 'ch_3NxYzAbC999',
      receipt_email: 'jenny.rosen@example.org',
      shipping: { name: 'Jenny Rosen', address: { country: 'US', line1: '510 Townsend St' } },
      description: 'Line one\nSecond caf\u00e9 line',
    });
    const lookalike = stripeEvent('evt_lookalike', { customer: 'cusx123', note: '100% sure' });
    const other = stripeEvent('evt_other', { customer: 'cus_456' });

    test('before the indexer runs nothing is found, and the lag says so', async () => {
      await store.insertEvents([pi, lookalike, other]);
      assert.deepEqual(await ids(store, 'cus_123'), []);
      const lag = await store.searchLag();
      assert.equal(lag.events, 3);
      assert.ok(lag.ms > 0, 'the oldest unindexed event has an age');
      assert.equal(await indexAll(store), 3);
      assert.deepEqual(await store.searchLag(), { events: 0, ms: 0 });
      assert.equal(await store.indexSearch(100), 0, 'nothing is indexed twice');
    });

    test('an id nested in a Stripe body, a provider id and its prefix, the event ids', async () => {
      assert.deepEqual(await ids(store, 'cus_123'), [pi.id]);
      assert.deepEqual(await ids(store, 'pi_3NxYzAbC123456'), [pi.id]);
      assert.deepEqual(await ids(store, 'pi_3N'), [pi.id], 'a prefix of a word');
      assert.deepEqual(await ids(store, 'ch_3NxYz'), [pi.id]);
      assert.deepEqual(await ids(store, pi.id), [pi.id], "Hookyard's id");
      assert.deepEqual(await ids(store, 'evt_3NpiCase'), [pi.id], "the sender's id");
      assert.deepEqual(await ids(store, 'cus_456'), [other.id]);
    });

    test('case-insensitive, either way round', async () => {
      assert.deepEqual(await ids(store, 'CUS_123'), [pi.id]);
      assert.deepEqual(await ids(store, 'PI_3nXYZ'), [pi.id]);
      assert.deepEqual(await ids(store, 'jenny ROSEN'), [pi.id]);
    });

    test('a word is found from each part after . or @; every word must match', async () => {
      assert.deepEqual(await ids(store, 'example.org'), [pi.id], 'the domain of an email');
      assert.deepEqual(await ids(store, 'rosen@example.org'), [pi.id]);
      assert.deepEqual(await ids(store, '123'), [], 'not from after _ (cus_123)');
      assert.deepEqual(await ids(store, 'nxyzabc'), [], 'nor from after _ (pi_3NxYzAbC…)');
      assert.deepEqual(await ids(store, 'jenny.rosen@example'), [pi.id]);
      assert.deepEqual(await ids(store, 'rosen townsend'), [pi.id]);
      assert.deepEqual(await ids(store, 'rosen cus_456'), [], 'each word, not any');
      assert.deepEqual(
        (await ids(store, 'succeeded')).sort(),
        [pi.id, lookalike.id, other.id].sort(),
      );
      assert.deepEqual(await ids(store, 'osen'), [], 'not from the middle of a part');
    });

    test('JSON escapes: \\n ends a word, \\u00e9 is é', async () => {
      assert.deepEqual(await ids(store, 'second'), [pi.id]);
      assert.deepEqual(await ids(store, 'café'), [pi.id]);
      assert.deepEqual(await ids(store, 'CAFÉ'), [pi.id]);
    });

    test('a word of one or two characters matches whole words only', async () => {
      assert.deepEqual(await ids(store, 'us'), [pi.id], 'the country US, not usd');
      assert.deepEqual(await ids(store, 'pi'), [], 'not a prefix of pi_3N…');
    });

    test('wildcards and query syntax are text: %, _, *, quotes, OR, ^, :*, <->', async () => {
      assert.deepEqual(await ids(store, 'cus_123'), [pi.id], '_ is not "any character"');
      assert.deepEqual(await ids(store, 'cusx123'), [lookalike.id]);
      assert.deepEqual(await ids(store, 'cus_12_'), [pi.id], 'nor a trailing _: not cusx123');
      assert.deepEqual(await ids(store, '100%'), [lookalike.id]);
      for (const q of [
        '"cus_123" *',
        "'cus_123':*",
        'cus_123)',
        '(cus_123 | !)',
        '^cus_123 <-> +-',
      ]) {
        assert.deepEqual(await ids(store, q), [pi.id], q);
      }
      assert.deepEqual(await ids(store, 'cus_123 OR cus_456'), [], 'OR is a word here');
      await assert.rejects(store.listEvents({ limit: 5, q: '%_*"' }), RangeError);
    });

    test('not found: an empty page', async () => {
      assert.deepEqual(await store.listEvents({ limit: 5, q: 'cus_nobody' }), {
        data: [],
        nextCursor: null,
      });
    });

    test('bodies that are not UTF-8 are searched by id and type only; forms decoded', async () => {
      const binary = newEvent('evt_binary', {
        source: 'raw',
        type: 'blob.uploaded',
        body: new Uint8Array([0xff, 0xfe, ...utf8(' cus_binary ')]),
      });
      const form = newEvent('evt_form', {
        source: 'slack',
        type: null,
        contentType: 'application/x-www-form-urlencoded',
        body: utf8(`payload=${encodeURIComponent(JSON.stringify({ user: { id: 'U0SLACKER' } }))}`),
      });
      await store.insertEvents([binary, form]);
      await indexAll(store);
      assert.deepEqual(await ids(store, 'cus_binary'), []);
      assert.deepEqual(await ids(store, 'evt_binary'), [binary.id]);
      assert.deepEqual(await ids(store, 'blob.uploaded'), [binary.id]);
      assert.deepEqual(await ids(store, 'u0slacker'), [form.id]);
    });

    test('the first 64 KiB of a body are searched', async () => {
      const body = utf8(`"early_word" ${'x'.repeat(64 * 1024 - 14)}ééé late_word`);
      // é is two bytes, and the first one is the 64 Ki-th: the cut falls inside it, which must
      // not make the body "not UTF-8"
      assert.deepEqual([body[64 * 1024 - 1], body[64 * 1024]], [0xc3, 0xa9]);
      const big = newEvent('evt_big', { source: 'big', body });
      const next = newEvent('evt_after_big', { source: 'big', body: utf8('"after_big"') });
      await store.insertEvents([big, next]);
      await indexAll(store);
      assert.deepEqual(await ids(store, 'early_word'), [big.id]);
      assert.deepEqual(await ids(store, 'late_word'), []);
      assert.deepEqual(await ids(store, 'after_big'), [next.id], 'the next body is whole');
    });

    test('with every other filter, and cursor pages newest first', async () => {
      const batch: NewEvent[] = [];
      for (let i = 0; i < 7; i++) {
        batch.push(
          newEvent(`evt_page${i}`, {
            source: i < 5 ? 'shop' : 'other',
            type: i % 2 ? 'order.paid' : 'order.created',
            receivedAt: T0 + i * 1000,
            body: utf8(JSON.stringify({ order: `ord_77${i}`, customer: 'cus_pager' })),
            destinations: i === 4 ? [{ destination: 'billing', orderingKey: null }] : [],
          }),
        );
      }
      batch.push(newEvent('evt_pagex', { source: 'shop', body: utf8('{"customer":"cus_other"}') }));
      await store.insertEvents(batch);
      await indexAll(store);
      const all = batch
        .slice(0, 7)
        .map((e) => e.id)
        .reverse();
      assert.deepEqual(await ids(store, 'cus_pager'), all);

      const shop = all.filter((id) => batch.find((e) => e.id === id)?.source === 'shop');
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listEvents({
          limit: 2,
          q: 'cus_pager',
          source: 'shop',
          ...(cursor !== undefined && { cursor }),
        });
        seen.push(...page.data.map((e) => e.id));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      assert.deepEqual(seen, shop);
      assert.equal(pages, 3);

      assert.deepEqual(await ids(store, 'cus_pager', { type: 'order.paid' }), [
        batch[5]!.id,
        batch[3]!.id,
        batch[1]!.id,
      ]);
      assert.deepEqual(await ids(store, 'cus_pager', { type: 'order.*', source: 'other' }), [
        batch[6]!.id,
        batch[5]!.id,
      ]);
      assert.deepEqual(await ids(store, 'cus_pager', { status: 'pending' }), [batch[4]!.id]);
      assert.deepEqual(await ids(store, 'cus_pager', { since: T0 + 2000, until: T0 + 4000 }), [
        batch[3]!.id,
        batch[2]!.id,
      ]);
      assert.deepEqual(await ids(store, 'ord_773 cus_pager'), [batch[3]!.id]);
    });

    test('retention takes the terms away; events stored afterwards are indexed', async () => {
      const { open } = await d.location();
      const s = open();
      try {
        await s.insertEvents([
          newEvent('evt_old1', { receivedAt: T0, body: utf8('"cus_pruned"') }),
          newEvent('evt_old2', { receivedAt: T0, body: utf8('"cus_pruned"') }),
        ]);
        await indexAll(s);
        assert.equal((await ids(s, 'cus_pruned')).length, 2);
        assert.equal(await s.prune(T0 + 1, 10), 2);
        assert.deepEqual(await ids(s, 'cus_pruned'), []);
        // SQLite numbers the next event from the newest one left (none): the index must not
        // believe it has indexed that number already, nor answer with the pruned terms.
        const fresh = newEvent('evt_fresh', { receivedAt: T0 + 5, body: utf8('"cus_fresh"') });
        await s.insertEvents([fresh]);
        assert.equal((await s.searchLag()).events, 1);
        await indexAll(s);
        assert.deepEqual(await ids(s, 'cus_fresh'), [fresh.id]);
        assert.deepEqual(await ids(s, 'cus_pruned'), []);
      } finally {
        await s.close();
      }
    });

    test('the background indexer finds a new event within a bounded time', async (t) => {
      const { open } = await d.location();
      const s = open();
      const indexer = new SearchIndexer(s, pino({ level: 'silent' }), { intervalMs: 50 });
      indexer.start();
      try {
        const e = stripeEvent('evt_live', { customer: 'cus_live_42' });
        await s.insertEvents([e]);
        const stored = performance.now();
        let found: string[] = [];
        while (performance.now() - stored < 5000) {
          found = await ids(s, 'cus_live_42');
          if (found.length) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        const ms = performance.now() - stored;
        assert.deepEqual(found, [e.id], 'found within 5 s');
        t.diagnostic(`found ${Math.round(ms)} ms after its commit (interval 50 ms)`);
        assert.ok(ms < 1000, `an idle indexer trails by about its interval, not ${ms} ms`);
        assert.equal((await s.searchLag()).events, 0);
      } finally {
        await indexer.stop();
        await s.close();
      }
    });
  });
}

describe('a store that cannot index says so', () => {
  test('sqlite: another connection holds the write lock; the lag is still read', async () => {
    const path = join(dir, `locked${n++}.db`);
    const store = new SqliteStore(path, { busyTimeoutMs: 50 });
    await store.insertEvents([newEvent('evt_locked')]);
    const other = new DatabaseSync(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      await assert.rejects(store.indexSearch(10), StoreUnavailableError);
      assert.equal((await store.searchLag()).events, 1);
    } finally {
      other.exec('ROLLBACK');
      other.close();
      await store.close();
    }
  });

  test('postgres: nothing listens', { skip: POSTGRES_SKIP }, async () => {
    const store = new PostgresStore(POSTGRES_UNREACHABLE_URL, { pool: 1, connectTimeoutSec: 2 });
    try {
      await assert.rejects(store.indexSearch(10), StoreUnavailableError);
      await assert.rejects(store.searchLag(), StoreUnavailableError);
    } finally {
      await store.close();
    }
  });
});

describe('search on PostgreSQL with several processes', { skip: POSTGRES_SKIP }, () => {
  const insert = (sql: postgres.ReservedSql | postgres.TransactionSql, id: string) =>
    sql.unsafe(
      `INSERT INTO events (id, source, event_id, type, received_at, headers, content_type, body)
       VALUES ($1, 'src', $1, 't', 0, '[]', 'application/json', convert_to($2, 'UTF8'))
       RETURNING seq`,
      [id, `{"customer":"cus_many","n":"${id}"}`],
    );

  test('a row with a smaller seq committed later is indexed, after the others', async () => {
    const url = await (pg as TestDatabase).schema();
    const store = new PostgresStore(url, { pool: 2 });
    await store.migrate();
    const sql = postgres(url, { max: 2, onnotice: () => undefined });
    const early = await sql.reserve();
    const late = await sql.reserve();
    try {
      await early.unsafe('BEGIN');
      const [a] = await insert(early, 'hye_early'); // the smaller seq, committed last
      await late.unsafe('BEGIN');
      const [b] = await insert(late, 'hye_late');
      assert.ok(Number(a?.seq) < Number(b?.seq));
      await late.unsafe('COMMIT');
      // hye_late is visible, but an older transaction still runs: indexing it now would move
      // the watermark past hye_early's place.
      assert.equal(await store.indexSearch(100), 0);
      assert.equal((await store.searchLag()).events, 1);
      await early.unsafe('COMMIT');
      assert.equal(await store.indexSearch(100), 2);
      assert.deepEqual(await ids(store, 'cus_many'), ['hye_late', 'hye_early']);
      assert.equal((await store.searchLag()).events, 0);
    } finally {
      early.release();
      late.release();
      await sql.end({ timeout: 1 });
      await store.close();
    }
  });

  test('two stores index concurrently while writers commit out of order: each event once', async (t) => {
    const url = await (pg as TestDatabase).schema();
    const a = new PostgresStore(url, { pool: 3 });
    const b = new PostgresStore(url, { pool: 3 });
    await a.migrate();
    await b.migrate();
    const writers = postgres(url, { max: 8, onnotice: () => undefined });
    const total = 600;
    let written = 0;
    let writing = true;
    // Eight writers, each holding its transaction open a random while, so commits land out
    // of seq order while both stores index.
    const write = async (w: number) => {
      while (written < total) {
        const i = written++;
        await writers.begin(async (tx) => {
          await insert(tx, `hye_w${w}_${i}`);
          await new Promise((r) => setTimeout(r, Math.random() * 8));
        });
      }
    };
    const counts = { a: 0, b: 0, busy: 0 };
    const index = async (store: PostgresStore, key: 'a' | 'b') => {
      while (writing || (await store.searchLag()).events > 0) {
        const done = await store.indexSearch(25);
        if (done === null) counts.busy++;
        else counts[key] += done;
        await new Promise((r) => setTimeout(r, Math.random() * 3));
      }
    };
    try {
      const indexing = [index(a, 'a'), index(b, 'b')];
      await Promise.all(Array.from({ length: 8 }, (_, w) => write(w)));
      writing = false;
      await Promise.all(indexing);
      t.diagnostic(`indexed by a: ${counts.a}, by b: ${counts.b}; lock busy ${counts.busy}×`);
      assert.equal(counts.a + counts.b, total, 'every event indexed exactly once');
      assert.ok(counts.a > 0 && counts.b > 0, 'both took turns');
      const [{ rows }] = (await writers.unsafe(
        'SELECT count(*)::int AS rows FROM event_search',
      )) as unknown as [{ rows: number }];
      assert.equal(rows, total);
      let found = 0;
      let cursor: string | undefined;
      do {
        const page = await a.listEvents({ limit: 500, q: 'cus_many', ...(cursor && { cursor }) });
        found += page.data.length;
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.equal(found, total, 'and every one is found');
    } finally {
      writing = false;
      await writers.end({ timeout: 1 });
      await a.close();
      await b.close();
    }
  });
});

describe('terms and queries (the one definition both dialects store)', () => {
  test('words, their parts, lowercase', () => {
    assert.deepEqual(searchTerms(['Paid by cus_123.', 'pi_3NAbc--x@Example.org', 'a_.b']), [
      'paid',
      'by',
      'cus_123',
      'pi_3nabc--x@example.org',
      'example.org',
      'org',
      'a_.b',
      'b',
    ]);
  });

  test('every arrangement of joiners: the word and each part after . or @ (a `.` before `_` once looped forever)', async () => {
    // Every string of up to 6 characters from `a` and the joiners, and a real one (the hostile
    // body of the dashboard's test). In a worker: a loop there fails this test after 10 s
    // instead of freezing the whole suite's event loop.
    const alphabet = ['a', '.', '_', '-', '@'];
    let inputs = [''];
    const all = ['window.__pwned=1', 'a.-.b@c'];
    for (let n = 1; n <= 6; n++) {
      inputs = inputs.flatMap((s) => alphabet.map((c) => s + c));
      all.push(...inputs);
    }
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.url).then(({ searchTerms }) =>
         parentPort.postMessage(workerData.all.map((s) => searchTerms([s]))));`,
      {
        eval: true,
        workerData: { url: new URL('../../src/store/search.ts', import.meta.url).href, all },
      },
    );
    const timer = setTimeout(() => void worker.terminate(), 10_000);
    const [got] = (await Promise.race([
      once(worker, 'message'),
      once(worker, 'exit').then(() => assert.fail('searchTerms did not return within 10 s')),
    ])) as [string[][]];
    clearTimeout(timer);
    await worker.terminate();
    // The definition, written differently: each word, then the rest after each run of
    // joiners that holds a `.` or `@`.
    const expected = all.map((s) =>
      (s.match(/[a-z0-9]+(?:[-_.@]+[a-z0-9]+)*/g) ?? []).flatMap((word) => [
        word,
        ...[...word.matchAll(/[-_.@]+/g)]
          .filter((m) => /[.@]/.test(m[0]))
          .map((m) => word.slice(m.index + m[0].length)),
      ]),
    );
    assert.deepEqual(got.slice(0, 2), [
      ['window.__pwned', 'pwned', '1'],
      ['a.-.b@c', 'b@c', 'c'],
    ]);
    assert.deepEqual(got, expected);
  });

  test('a term is at most 64 characters, never half a surrogate pair', () => {
    const [long] = searchTerms(['a'.repeat(100)]);
    assert.equal(long, 'a'.repeat(64));
    const [astral] = searchTerms([`${'a'.repeat(63)}𝐀b`]);
    assert.equal(astral, 'a'.repeat(63));
  });

  test('an event whose terms would not fit is cut, not refused', () => {
    // every part different, every term cut at 64: far past PostgreSQL's 1 MB for a tsvector
    const word = Array.from({ length: 20_000 }, (_, i) => `p${i}`).join('_');
    const terms = searchTerms([word]);
    const bytes = terms.reduce((sum, t) => sum + Buffer.byteLength(t) + 1, 0);
    assert.ok(bytes < 256 * 1024, `${bytes} bytes`);
  });

  test('query words: prefixes from 3 characters, none at all is a RangeError', () => {
    assert.deepEqual(parseSearch('Cus_12 us'), {
      words: [
        { term: 'cus_12', prefix: true },
        { term: 'us', prefix: false },
      ],
    });
    assert.throws(() => parseSearch(' %%% '), RangeError);
  });
});
