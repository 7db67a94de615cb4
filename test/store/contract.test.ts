// The store contract (src/store/contract.ts), every test on both dialects: a SQLite file and
// a real PostgreSQL database (one per run of this file, a schema per test).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import {
  type AttemptRecord,
  type EventStatus,
  type Lease,
  type NewEvent,
  type Store,
  StoreUnavailableError,
} from '../../src/store/contract.ts';
import { SCAN_BUDGET } from '../../src/store/sql.ts';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import {
  createTestDatabase,
  POSTGRES_SKIP,
  POSTGRES_UNREACHABLE_URL,
  type TestDatabase,
} from '../helpers/postgres.ts';
import { newEvent } from '../helpers/events.ts';

interface Dialect {
  name: string;
  skip: string | false;
  /** A fresh, empty store location, and a way to open a store on it (several may share one). */
  location(): Promise<() => Store>;
  /** A store broken the dialect's own way other than by closing it, and which of its methods
   * must then fail (the rest must still answer). */
  broken: {
    how: string;
    failing: 'every method' | 'writes and ping';
    open(): Promise<{ store: Store; end(): Promise<void> }>;
  };
}

const dir = mkdtempSync(join(tmpdir(), 'hookyard-contract-'));
let pg: TestDatabase | undefined;
before(async () => {
  if (!POSTGRES_SKIP) pg = await createTestDatabase('hookyard_contract');
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
      const path = join(dir, `c${n++}.db`);
      return () => new SqliteStore(path);
    },
    broken: {
      // WAL readers never wait for the writer, so only what must write (or prove it could) fails.
      how: 'another connection holds the write lock',
      failing: 'writes and ping',
      async open() {
        const path = join(dir, `c${n++}.db`);
        const store = new SqliteStore(path, { busyTimeoutMs: 50 });
        await seed(store);
        const other = new DatabaseSync(path);
        other.exec('BEGIN IMMEDIATE');
        return {
          store,
          async end() {
            other.exec('ROLLBACK');
            other.close();
            await store.close();
          },
        };
      },
    },
  },
  {
    name: 'postgres',
    skip: POSTGRES_SKIP,
    async location() {
      const url = await (pg as TestDatabase).schema();
      return () => new PostgresStore(url, { pool: 4 });
    },
    broken: {
      how: 'nothing listens where the database should be',
      failing: 'every method',
      async open() {
        const store = new PostgresStore(POSTGRES_UNREACHABLE_URL, {
          pool: 2,
          connectTimeoutSec: 2,
        });
        return { store, end: () => store.close() };
      },
    },
  },
];

const T0 = 1_700_000_000_000;

const event = (eventId: string, extra: Partial<NewEvent> = {}) =>
  newEvent(eventId, { receivedAt: T0, ...extra });

const to = (destination: string, orderingKey: string | null = null) => [
  { destination, orderingKey },
];

function attempt(lease: Lease, outcome: AttemptRecord['outcome'], statusCode = 200): AttemptRecord {
  return {
    n: lease.attempt,
    startedAt: T0 + 1,
    durationMs: 3,
    statusCode,
    response: 'ok',
    error: null,
    outcome,
  };
}

/** An event with a delivery to `d`, and a lease on that delivery. */
async function seed(store: Store): Promise<{ id: string; lease: Lease }> {
  const e = event(`seed${n++}`, { destinations: to('d') });
  await store.insertEvents([e]);
  const [lease] = await store.claimDeliveries('d', 1, T0, T0 + 1000);
  assert.ok(lease);
  return { id: e.id, lease };
}

/** Every method of the contract but close and watch, each called as the engine or the API
 * would; `writes` says whether it must take the write lock. */
function everyCall(store: Store, id: string, lease: Lease, cursor: string) {
  const calls: { name: string; writes: boolean; call(): Promise<unknown> }[] = [
    { name: 'migrate', writes: false, call: () => store.migrate() },
    {
      name: 'insertEvents',
      writes: true,
      call: () => store.insertEvents([event(`x${n++}`, { destinations: to('d') })]),
    },
    { name: 'listEvents', writes: false, call: () => store.listEvents({ limit: 10 }) },
    { name: 'headCursor', writes: false, call: () => store.headCursor() },
    {
      name: 'listEvents (every filter)',
      writes: false,
      call: () =>
        store.listEvents({
          limit: 10,
          source: 'src',
          type: 't*',
          status: 'pending',
          since: T0,
          until: T0 + 1,
          cursor: Buffer.from('99').toString('base64url'),
        }),
    },
    { name: 'getEvent', writes: false, call: () => store.getEvent(id) },
    { name: 'nextDueAt', writes: false, call: () => store.nextDueAt('d', T0) },
    { name: 'ping', writes: true, call: () => store.ping() },
    {
      name: 'claimDeliveries',
      writes: true,
      call: () => store.claimDeliveries('d', 5, T0, T0 + 9),
    },
    {
      name: 'finishAttempt',
      writes: true,
      call: () => store.finishAttempt(lease, attempt(lease, 'delivered'), { status: 'delivered' }),
    },
    { name: 'releaseLeases', writes: true, call: () => store.releaseLeases([lease]) },
    { name: 'replayEvent', writes: true, call: () => store.replayEvent(id, 'd', T0, false) },
    // A dry run writes nothing, but reads what a replay would read.
    {
      name: 'replayEvent (dry run)',
      writes: false,
      call: () => store.replayEvent(id, undefined, T0, true),
    },
    { name: 'prune', writes: true, call: () => store.prune(T0 + 1, 10) },
    { name: 'getListener', writes: false, call: () => store.getListener('laptop') },
    { name: 'listListeners', writes: false, call: () => store.listListeners() },
    { name: 'ackListener', writes: true, call: () => store.ackListener('laptop', cursor, T0) },
  ];
  return calls;
}

/** How `call` ended: 'unavailable' for a rejection with StoreUnavailableError (code
 * storage_unavailable) carrying the driver's error as its cause; else what it did. A method
 * that throws instead of rejecting fails the test here. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  const settled = call();
  try {
    await settled;
    return 'answered';
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) return `threw ${String(error)}`;
    if (error.code !== 'storage_unavailable') return `code ${error.code}`;
    if (!(error.cause instanceof Error)) return 'no driver error as cause';
    return 'unavailable';
  }
}

/** Every call's outcome by name, the calls made all at once as a gateway's requests would be
 * (an unreachable PostgreSQL then costs one reconnection delay, not one per call). */
async function outcomes(calls: ReturnType<typeof everyCall>): Promise<Record<string, string>> {
  return Object.fromEntries(
    await Promise.all(calls.map(async (c) => [c.name, await outcome(c.call)] as const)),
  );
}

for (const dialect of DIALECTS) {
  describe(`store contract: ${dialect.name}`, { skip: dialect.skip }, () => {
    const stores: Store[] = [];
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });
    /** A new empty store; `more` opens further stores on the same data (other processes). */
    async function fresh(): Promise<{ store: Store; more(): Store }> {
      const open = await dialect.location();
      const more = () => {
        const s = open();
        stores.push(s);
        return s;
      };
      const store = more();
      await store.migrate();
      return { store, more };
    }

    test('migrate applies each migration once, also when several stores start at once', async (t) => {
      const open = await dialect.location();
      const all = [open(), open(), open()];
      // Closed whatever happens: an open PostgreSQL pool would keep the file's process alive.
      t.after(() => Promise.all(all.map((s) => s.close())));
      // SQLite migrates as it opens; the others report what they applied on first call.
      const reports = await Promise.all(all.map((s) => s.migrate()));
      const applied = reports.flatMap((r) => r.applied.map((m) => m.version));
      assert.deepEqual(applied.sort(), [1, 2, 3, 4, 5, 6, 7, 8]);
      for (const r of reports) assert.equal(r.version, 8);
      assert.deepEqual(await all[0]?.migrate(), { applied: [], version: 8 });
    });

    test('listeners: ack moves a cursor only forward, also with acks racing from several stores', async () => {
      const { store, more } = await fresh();
      assert.equal(await store.getListener('laptop'), undefined);
      assert.deepEqual(await store.listListeners(), []);
      const head = await store.headCursor();
      const first = await store.ackListener('laptop', head, T0);
      assert.deepEqual(first, { name: 'laptop', cursor: head, createdAt: T0, updatedAt: T0 });
      await store.insertEvents([1, 2, 3, 4, 5].map((i) => event(`l${i}`)));
      const page = await store.eventsAfter(head, 10);
      const cursors = page.data.map((e) => e.cursor);
      assert.equal(cursors.length, 5);
      const c = (i: number) => cursors[i] as string;
      assert.equal((await store.ackListener('laptop', c(2), T0 + 1)).cursor, c(2));
      // A late ack (a listener that was taken over) leaves the cursor where it is.
      const late = await store.ackListener('laptop', c(0), T0 + 2);
      assert.deepEqual(late, { name: 'laptop', cursor: c(2), createdAt: T0, updatedAt: T0 + 1 });
      assert.deepEqual(await store.getListener('laptop'), late);
      // The same cursor again refreshes updated_at only.
      assert.equal((await store.ackListener('laptop', c(2), T0 + 3)).updatedAt, T0 + 3);
      // Resuming after the stored cursor gives exactly the rest.
      const rest = await store.eventsAfter(
        (await store.getListener('laptop'))?.cursor as string,
        10,
      );
      assert.deepEqual(
        rest.data.map((e) => e.cursor),
        cursors.slice(3),
      );
      // Acks racing from several stores (processes) in any order end at the newest.
      const others = [store, more(), more()];
      const shuffled = [...cursors, ...cursors].sort(() => Math.random() - 0.5);
      await Promise.all(
        shuffled.map((cur, i) => (others[i % 3] as Store).ackListener('race', cur, T0 + i)),
      );
      assert.equal((await store.getListener('race'))?.cursor, c(4));
      await store.ackListener('another', head, T0);
      assert.deepEqual(
        (await store.listListeners()).map((l) => [l.name, l.cursor]),
        [
          ['another', head],
          ['laptop', c(2)],
          ['race', c(4)],
        ],
      );
      // Malformed cursors are the caller's error, before the store is asked.
      for (const bad of ['', 'abc', '1.2.3', '-1', '9'.repeat(40), "1'; DROP TABLE listeners"]) {
        await assert.rejects(store.ackListener('laptop', bad, T0), RangeError, bad);
      }
      assert.equal((await store.getListener('laptop'))?.cursor, c(2));
      // Any name is data, not SQL.
      const odd = "o'dd ñame; DROP TABLE listeners --";
      assert.equal((await store.ackListener(odd, head, T0)).name, odd);
      assert.equal((await store.getListener(odd))?.cursor, head);
    });

    test('a batch with a duplicate in it stores one row and reports the first id', async () => {
      const { store } = await fresh();
      const [a, b, c] = [event('e1'), event('e1'), event('e2')];
      assert.deepEqual(await store.insertEvents([a, b, c]), [
        { id: a.id, duplicate: false },
        { id: a.id, duplicate: true },
        { id: c.id, duplicate: false },
      ]);
      assert.deepEqual(await store.insertEvents([event('e2')]), [{ id: c.id, duplicate: true }]);
      const other = await store.insertEvents([event('e1', { source: 'other' })]);
      assert.equal(other[0]?.duplicate, false, 'the same event id from another source is new');
    });

    test('two stores inserting the same events at once store each exactly once', async () => {
      const { store, more } = await fresh();
      const second = more();
      const batchA = Array.from({ length: 200 }, (_, i) => event(`race${i}`));
      const batchB = Array.from({ length: 200 }, (_, i) => event(`race${199 - i}`));
      const [outA, outB] = await Promise.all([
        store.insertEvents(batchA),
        second.insertEvents(batchB),
      ]);
      const idOf = new Map<string, string>();
      for (const [batch, out] of [
        [batchA, outA],
        [batchB, outB],
      ] as const) {
        batch.forEach((e, i) => {
          const id = out[i]?.id as string;
          const seen = idOf.get(e.eventId);
          if (seen) assert.equal(id, seen, `${e.eventId} got two ids`);
          idOf.set(e.eventId, id);
        });
      }
      const stored = [...outA, ...outB].filter((o) => !o.duplicate).length;
      assert.equal(stored, 200);
      const page = await store.listEvents({ limit: 1000 });
      assert.equal(page.data.length, 200);
    });

    test('an event reads back byte for byte with its headers, deliveries and attempts', async () => {
      const { store } = await fresh();
      const body = new Uint8Array([0, 255, 0xc3, 0x28, 10, 0, 92, 120]); // NULs, bad UTF-8, \x
      const e = event('bytes', {
        body,
        headers: [
          ['X-Dup', 'a'],
          ['x-dup', 'b'],
          ['Content-Type', 'application/octet-stream'],
        ],
        contentType: 'application/octet-stream',
        destinations: to('d1'),
      });
      await store.insertEvents([e]);
      const [lease] = await store.claimDeliveries('d1', 10, T0, T0 + 1000);
      assert.ok(lease);
      assert.deepEqual(lease.event.body, body);
      assert.deepEqual(lease.event.headers, e.headers);
      await store.finishAttempt(lease, attempt(lease, 'delivered'), { status: 'delivered' });
      const stored = await store.getEvent(e.id);
      assert.ok(stored);
      assert.deepEqual(stored.body, body);
      assert.deepEqual(stored.headers, e.headers);
      assert.equal(stored.size, body.length);
      assert.equal(stored.status, 'delivered');
      assert.equal(stored.deliveries.length, 1);
      assert.deepEqual(stored.deliveries[0]?.attempts, [attempt(lease, 'delivered')]);
      assert.equal(await store.getEvent('hye_nope'), undefined);
    });

    test('a filtered page walks at most SCAN_BUDGET events; a page cut short goes on from there', async () => {
      const { store } = await fresh();
      // The oldest event is the one match of type `rare`, at T0; SCAN_BUDGET + 50 newer ones
      // after it. (Inserted in batches of 1,000, oldest first.)
      const total = SCAN_BUDGET + 51;
      for (let i = 0; i < total; i += 1000) {
        const batch: NewEvent[] = [];
        for (let j = i; j < Math.min(total, i + 1000); j++)
          batch.push(event(`w${j}`, { type: j === 0 ? 'rare' : 'common', receivedAt: T0 + j }));
        await store.insertEvents(batch);
      }
      for (const filter of [
        { type: 'rare' },
        { until: T0 + 1 },
        { status: 'received' as const, type: 'rare' },
      ]) {
        const first = await store.listEvents({ limit: 50, ...filter });
        assert.deepEqual(first.data, [], `${JSON.stringify(filter)}: the walk stopped short`);
        assert.ok(first.nextCursor, 'and says where to go on');
        const second = await store.listEvents({ limit: 50, ...filter, cursor: first.nextCursor });
        assert.deepEqual(
          second.data.map((e) => e.eventId),
          ['w0'],
        );
        assert.equal(second.nextCursor, null, 'the walk reached the end');
      }
      // A filter the page fills is not cut: the newest 50, then on from the 50th.
      const common = await store.listEvents({ limit: 50, type: 'common' });
      assert.equal(common.data.length, 50);
      assert.equal(common.data[0]?.eventId, `w${total - 1}`);
      // Without a walked filter, nothing is cut.
      const rareFirst = await store.listEvents({
        limit: 50,
        source: 'src',
        cursor: common.nextCursor as string,
      });
      assert.equal(rareFirst.data.length, 50);
    });

    test('listing filters by source, type glob, time and status, newest first, in pages', async () => {
      const { store } = await fresh();
      await store.insertEvents([
        event('l1', { type: 'payment_intent.succeeded', receivedAt: T0 }),
        event('l2', { type: 'payment_intent.failed', receivedAt: T0 + 10 }),
        event('l3', { type: 'charge.refunded', receivedAt: T0 + 20, destinations: to('d') }),
        event('l4', { type: 'payment%intent_x', receivedAt: T0 + 30, source: 'other' }),
        event('l5', { type: 'paymentXintentXx', receivedAt: T0 + 40 }),
      ]);
      const ids = async (f: object) =>
        (await store.listEvents({ limit: 100, ...f })).data.map((e) => e.eventId);
      assert.deepEqual(await ids({}), ['l5', 'l4', 'l3', 'l2', 'l1']);
      assert.deepEqual(await ids({ source: 'other' }), ['l4']);
      assert.deepEqual(await ids({ type: 'payment_intent.*' }), ['l2', 'l1']);
      assert.deepEqual(await ids({ type: 'payment%intent_*' }), ['l4'], '% and _ are literal');
      assert.deepEqual(await ids({ type: 'charge.refunded' }), ['l3']);
      assert.deepEqual(await ids({ since: T0 + 10, until: T0 + 30 }), ['l3', 'l2']);
      assert.deepEqual(await ids({ status: 'pending' }), ['l3']);
      assert.deepEqual(await ids({ status: 'received' }), ['l5', 'l4', 'l2', 'l1']);
      const first = await store.listEvents({ limit: 2 });
      assert.deepEqual(
        first.data.map((e) => e.eventId),
        ['l5', 'l4'],
      );
      assert.ok(first.nextCursor);
      const second = await store.listEvents({ limit: 2, cursor: first.nextCursor });
      const third = await store.listEvents({ limit: 2, cursor: second.nextCursor as string });
      assert.deepEqual(
        [...second.data, ...third.data].map((e) => e.eventId),
        ['l3', 'l2', 'l1'],
      );
      assert.equal(third.nextCursor, null);
      await assert.rejects(store.listEvents({ limit: 1, cursor: 'not-a-cursor' }), RangeError);
    });

    test('claims take due deliveries up to the limit and hold them until the lease ends', async () => {
      const { store } = await fresh();
      await store.insertEvents(
        Array.from({ length: 5 }, (_, i) =>
          event(`c${i}`, { receivedAt: T0 + i, destinations: to('d') }),
        ),
      );
      await store.insertEvents([
        event('later', { receivedAt: T0 + 10_000, destinations: to('d') }),
      ]);
      const first = await store.claimDeliveries('d', 3, T0 + 100, T0 + 5000);
      assert.equal(first.length, 3);
      assert.deepEqual(
        first.map((l) => l.attempt),
        [1, 1, 1],
      );
      const rest = await store.claimDeliveries('d', 10, T0 + 100, T0 + 5000);
      assert.equal(rest.length, 2, 'leased ones and the not-yet-due one are not claimable');
      assert.equal((await store.claimDeliveries('other', 10, T0 + 100, T0 + 5000)).length, 0);
      // The leases run out before `later` falls due: a worker must look again then.
      assert.equal(await store.nextDueAt('d', T0 + 100), T0 + 5000);
      assert.equal(await store.nextDueAt('d', T0 + 5000), T0, 'run out: due since they arrived');
      // The lease runs out (its worker died): claimable again, still as attempt 1.
      const again = await store.claimDeliveries('d', 10, T0 + 5000, T0 + 9000);
      assert.equal(again.length, 5);
      assert.deepEqual(
        again.map((l) => l.event.id).sort(),
        [...first, ...rest].map((l) => l.event.id).sort(),
      );
    });

    test('verdicts move deliveries on; a finish from a lease since taken over records only the attempt', async () => {
      const { store } = await fresh();
      const [a, b, c] = [
        event('v1', { destinations: to('d') }),
        event('v2', { destinations: to('d') }),
        event('v3', { destinations: to('d') }),
      ];
      await store.insertEvents([a, b, c]);
      const leases = await store.claimDeliveries('d', 10, T0, T0 + 1000);
      const [la, lb, lc] = leases as [Lease, Lease, Lease];
      await Promise.all([
        store.finishAttempt(la, attempt(la, 'delivered'), { status: 'delivered' }),
        store.finishAttempt(lb, attempt(lb, 'retry', 500), {
          status: 'pending',
          nextAt: T0 + 60_000,
        }),
        store.finishAttempt(lc, attempt(lc, 'dead', 410), { status: 'dead', reason: 'HTTP 410' }),
      ]);
      assert.equal((await store.getEvent(a.id))?.status, 'delivered');
      const failing = await store.getEvent(b.id);
      assert.equal(failing?.status, 'failing');
      assert.equal(failing?.deliveries[0]?.nextAt, T0 + 60_000);
      assert.equal(failing?.deliveries[0]?.lastError, 'HTTP 500');
      const dead = await store.getEvent(c.id);
      assert.equal(dead?.status, 'dead');
      assert.equal(dead?.deliveries[0]?.lastError, 'HTTP 410');
      // The list filters by these statuses, newest first (found from the deliveries: sql.ts).
      const listed = async (status: EventStatus) =>
        (await store.listEvents({ limit: 10, status })).data.map((e) => e.eventId);
      assert.deepEqual(await listed('dead'), ['v3']);
      assert.deepEqual(await listed('failing'), ['v2']);
      assert.deepEqual(await listed('pending'), []);
      assert.deepEqual(await listed('delivered'), ['v1']);
      assert.equal(await store.nextDueAt('d', T0), T0 + 60_000);
      // b's retry falls due; a worker takes it, its lease expires, another worker takes it.
      const [slow] = await store.claimDeliveries('d', 1, T0 + 60_000, T0 + 61_000);
      const [fast] = await store.claimDeliveries('d', 1, T0 + 61_000, T0 + 62_000);
      assert.ok(slow && fast);
      assert.equal(fast.attempt, 2);
      await store.finishAttempt(fast, attempt(fast, 'delivered'), { status: 'delivered' });
      await store.finishAttempt(slow, attempt(slow, 'retry', 503), {
        status: 'pending',
        nextAt: T0 + 99_000,
      });
      const final = await store.getEvent(b.id);
      assert.equal(final?.status, 'delivered', 'the stale finish did not undo the delivery');
      assert.equal(final?.deliveries[0]?.attempts.length, 3);
      // A replay of the dead event supersedes its dead delivery: it is pending, no longer dead.
      await store.replayEvent(c.id, 'd', T0 + 100_000, false);
      assert.deepEqual(await listed('dead'), []);
      assert.deepEqual(await listed('pending'), ['v3']);
      assert.deepEqual(await listed('delivered'), ['v2', 'v1']);
    });

    test('of deliveries sharing an ordering key only the oldest pending is claimable', async () => {
      const { store } = await fresh();
      await store.insertEvents([
        event('k1', { destinations: to('d', 'cus_1') }),
        event('k2', { destinations: to('d', 'cus_1') }),
        event('k3', { destinations: to('d', 'cus_2') }),
        event('k4', { destinations: to('d', null) }),
      ]);
      const first = await store.claimDeliveries('d', 10, T0, T0 + 1000);
      assert.deepEqual(
        first.map((l) => l.event.id.split('_')[1]),
        ['k1', 'k3', 'k4'],
      );
      // k1 failed and waits for its retry: k2 still waits behind it.
      const k1 = first[0] as Lease;
      await store.finishAttempt(k1, attempt(k1, 'retry', 500), {
        status: 'pending',
        nextAt: T0 + 500,
      });
      assert.equal((await store.claimDeliveries('d', 10, T0 + 10, T0 + 1000)).length, 0);
      assert.equal(await store.nextDueAt('d', T0 + 10), T0 + 500);
      const [retry] = await store.claimDeliveries('d', 10, T0 + 500, T0 + 1000);
      assert.equal(retry?.event.id, k1.event.id);
      await store.finishAttempt(retry as Lease, attempt(retry as Lease, 'delivered'), {
        status: 'delivered',
      });
      const next = await store.claimDeliveries('d', 10, T0 + 600, T0 + 1000);
      assert.deepEqual(
        next.map((l) => l.event.id.split('_')[1]),
        ['k2'],
      );
    });

    test('released leases are claimable at once', async () => {
      const { store } = await fresh();
      await store.insertEvents([event('r1', { destinations: to('d') })]);
      const leases = await store.claimDeliveries('d', 10, T0, T0 + 60_000);
      assert.equal((await store.claimDeliveries('d', 10, T0, T0 + 60_000)).length, 0);
      await store.releaseLeases(leases);
      assert.equal((await store.claimDeliveries('d', 10, T0, T0 + 60_000)).length, 1);
    });

    test('replay adds a delivery per destination, keeps the ordering key, and can dry-run', async () => {
      const { store } = await fresh();
      const e = event('rp', {
        destinations: [
          { destination: 'a', orderingKey: 'k' },
          { destination: 'b', orderingKey: null },
        ],
      });
      await store.insertEvents([e]);
      for (const l of await store.claimDeliveries('a', 10, T0, T0 + 1000))
        await store.finishAttempt(l, attempt(l, 'delivered'), { status: 'delivered' });
      const dry = await store.replayEvent(e.id, undefined, T0 + 5, true);
      assert.deepEqual(dry, [
        { id: null, destination: 'a' },
        { id: null, destination: 'b' },
      ]);
      assert.equal((await store.getEvent(e.id))?.deliveries.length, 2, 'a dry run writes nothing');
      // Another event of key k arrives before the replay, which keeps k: it waits behind it.
      const ahead = event('rp2', { destinations: [{ destination: 'a', orderingKey: 'k' }] });
      await store.insertEvents([ahead]);
      const made = await store.replayEvent(e.id, 'a', T0 + 5, false);
      assert.equal(made?.length, 1);
      assert.match(made?.[0]?.id ?? '', /^hyd_/);
      const stored = await store.getEvent(e.id);
      assert.equal(stored?.deliveries.length, 3);
      assert.equal(stored?.status, 'pending');
      const first = await store.claimDeliveries('a', 10, T0 + 5, T0 + 1000);
      assert.deepEqual(
        first.map((l) => l.event.id),
        [ahead.id],
        'the replay waits its turn in key k',
      );
      const [l] = first as [Lease];
      await store.finishAttempt(l, attempt(l, 'delivered'), { status: 'delivered' });
      const [again] = await store.claimDeliveries('a', 10, T0 + 5, T0 + 1000);
      assert.equal(again?.event.id, e.id);
      assert.equal(again?.attempt, 1);
      assert.equal(await store.replayEvent('hye_missing', undefined, T0, false), undefined);
    });

    test('two stores claiming at once never lease the same delivery', async () => {
      const { store, more } = await fresh();
      const other = more();
      const total = 600;
      await store.insertEvents(
        Array.from({ length: total }, (_, i) => event(`p${i}`, { destinations: to('d') })),
      );
      const got: Lease[][] = [[], []];
      await Promise.all(
        [store, other].map(async (s, i) => {
          for (;;) {
            const leases = await s.claimDeliveries('d', 7, T0 + 1, T0 + 600_000);
            if (leases.length === 0) break;
            got[i]?.push(...leases);
          }
        }),
      );
      const ids = [...(got[0] ?? []), ...(got[1] ?? [])].map((l) => l.id);
      assert.equal(ids.length, total, 'every delivery leased once');
      assert.equal(new Set(ids).size, total, 'no delivery leased twice');
    });

    test('prune deletes old events with their deliveries and attempts, in batches', async () => {
      const { store } = await fresh();
      const old = Array.from({ length: 5 }, (_, i) =>
        event(`old${i}`, { receivedAt: T0 + i, destinations: to('d') }),
      );
      const young = event('young', { receivedAt: T0 + 1_000_000, destinations: to('d') });
      await store.insertEvents([...old, young]);
      for (const l of await store.claimDeliveries('d', 10, T0 + 1_000_000, T0 + 2_000_000))
        await store.finishAttempt(l, attempt(l, 'delivered'), { status: 'delivered' });
      assert.equal(await store.prune(T0 + 500, 3), 3);
      assert.equal(await store.prune(T0 + 500, 3), 2);
      assert.equal(await store.prune(T0 + 500, 3), 0);
      const left = await store.listEvents({ limit: 10 });
      assert.deepEqual(
        left.data.map((e) => e.eventId),
        ['young'],
      );
      assert.equal((await store.getEvent(young.id))?.deliveries[0]?.attempts.length, 1);
      // A pruned event's id may come again and is then a new event.
      assert.equal((await store.insertEvents([event('old0')]))[0]?.duplicate, false);
    });

    test('the stream: eventsAfter pages in cursor order from headCursor, each event once', async () => {
      const { store } = await fresh();
      await store.insertEvents([event('before')]);
      const head = await store.headCursor();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const e = event(`s${i}`);
        ids.push(e.id);
        await store.insertEvents([e]);
      }
      const first = await store.eventsAfter(head, 3);
      assert.deepEqual(
        first.data.map((e) => e.id),
        ids.slice(0, 3),
      );
      assert.equal(first.cursor, first.data[2]?.cursor);
      const rest = await store.eventsAfter(first.cursor, 10);
      assert.deepEqual(
        rest.data.map((e) => e.id),
        ids.slice(3),
      );
      const none = await store.eventsAfter(rest.cursor, 10);
      assert.deepEqual(none.data, []);
      const late = event('late');
      await store.insertEvents([late]);
      const again = await store.eventsAfter(none.cursor, 10);
      assert.deepEqual(
        again.data.map((e) => e.id),
        [late.id],
      );
      // Resuming from any event's own cursor gives exactly what came after it.
      const resumed = await store.eventsAfter(first.data[1]?.cursor as string, 10);
      assert.deepEqual(
        resumed.data.map((e) => e.id),
        [...ids.slice(2), late.id],
      );
      await assert.rejects(store.eventsAfter('not a cursor', 10), RangeError);
    });

    test('ping resolves while the store can take writes', async () => {
      const { store } = await fresh();
      await store.ping();
    });

    test('a closed store: every method rejects with StoreUnavailableError; a bad cursor stays a RangeError', async () => {
      const { store } = await fresh();
      const { id, lease } = await seed(store);
      await store.close();
      const calls = everyCall(store, id, lease, dialect.name === 'sqlite' ? '1' : '1.1');
      assert.deepEqual(
        await outcomes(calls),
        Object.fromEntries(calls.map((c) => [c.name, 'unavailable'])),
      );
      // The API answers 400 for this, not 503: the cursor is checked before the store is asked.
      await assert.rejects(store.listEvents({ limit: 1, cursor: 'not-a-cursor' }), RangeError);
    });

    test(`a broken store (${dialect.broken.how}): StoreUnavailableError from ${dialect.broken.failing}`, async (t) => {
      const broken = await dialect.broken.open();
      t.after(() => broken.end());
      const { store } = broken;
      const lease: Lease = {
        seq: 1,
        id: 'hyd_x',
        destination: 'd',
        attempt: 1,
        leaseUntil: T0 + 1000,
        event: {
          id: 'hye_x',
          source: 'src',
          type: 't',
          headers: [],
          contentType: null,
          body: new Uint8Array(),
        },
      };
      const listed =
        dialect.broken.failing === 'every method'
          ? undefined
          : await store.listEvents({ limit: 1 });
      const id = listed?.data[0]?.id ?? 'hye_x';
      const calls = everyCall(store, id, lease, dialect.name === 'sqlite' ? '1' : '1.1');
      const fails = (c: (typeof calls)[number]) =>
        dialect.broken.failing === 'every method' || c.writes;
      assert.deepEqual(
        await outcomes(calls),
        Object.fromEntries(calls.map((c) => [c.name, fails(c) ? 'unavailable' : 'answered'])),
      );
      await assert.rejects(store.listEvents({ limit: 1, cursor: 'not-a-cursor' }), RangeError);
    });

    test(
      'watch tells a store about deliveries another store created',
      {
        skip: dialect.name === 'sqlite' && 'a SQLite file has one process: no cross-process watch',
      },
      async () => {
        const { store, more } = await fresh();
        const watcher = more();
        assert.ok(watcher.watch, 'PostgreSQL stores have the watch capability');
        const heard: (readonly string[] | null)[] = [];
        let listening!: () => void;
        const ready = new Promise<void>((r) => (listening = r));
        const stop = watcher.watch((d) => {
          heard.push(d);
          if (d === null) listening();
        });
        await ready; // the first call (null) says it listens
        await store.insertEvents([event('w1', { destinations: to('billing') })]);
        await store.insertEvents([event('w2')]); // no deliveries: nothing to announce
        await store.replayEvent(
          (await store.listEvents({ limit: 1 })).data[0]?.id as string,
          'x',
          T0,
          false,
        );
        const deadline = Date.now() + 5000;
        while (heard.length < 3 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(heard, [null, ['billing'], ['x']]);
        stop();
      },
    );
  });
}
