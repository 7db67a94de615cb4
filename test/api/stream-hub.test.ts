// The stream's hub on a real SQLite store: a stream that starts "from now" gets only what is
// stored after it started, also when the hub sat idle (no subscriber) while events arrived.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StreamHub, type StreamEvent } from '../../src/api/stream.ts';
import { Lifecycle } from '../../src/lifecycle.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { newEvent } from '../helpers/events.ts';

test('a stream without a cursor starts now, even after the hub sat idle', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hookyard-hub-'));
  const store = new SqliteStore(join(dir, 'h.db'));
  const lifecycle = new Lifecycle();
  const hub = new StreamHub(store, lifecycle, { pollMs: 20, batchMs: 0 });
  t.after(async () => {
    hub.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const received = (seen: string[]) => ({
    events: (events: readonly StreamEvent[]) => seen.push(...events.map((e) => e.eventId)),
    delivery: () => undefined,
    end: () => undefined,
  });
  const store1 = async (id: string) => {
    await store.insertEvents([newEvent(id)]);
    lifecycle.emit('event:received', { id, source: 'src', type: 't', destinations: [] });
  };
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  await store1('before');
  const first: string[] = [];
  const off = await hub.subscribe(received(first));
  await store1('during');
  await wait(150);
  off();
  assert.deepEqual(first, ['during']);

  await store1('while-idle'); // nobody listens: the hub reads nothing
  const second: string[] = [];
  const off2 = await hub.subscribe(received(second));
  await store1('after');
  await wait(150);
  off2();
  assert.deepEqual(second, ['after'], 'not what was stored while the hub sat idle');
});
