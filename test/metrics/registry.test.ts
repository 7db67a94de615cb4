// createMetrics on its own, over a real SQLite store and a real Lifecycle: labels stay bounded
// whatever the events carry (the module does not trust its emitters for that), one scrape
// reads the queue once however many gauges need it, concurrent scrapes share that read, and a
// store that hangs does not hold a scrape past the timeout.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newId } from '../../src/ids.ts';
import { Lifecycle } from '../../src/lifecycle.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import type { Store } from '../../src/store/contract.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { parseMetrics, valueOf } from './helpers.ts';

let dir: string;
let store: SqliteStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hookyard-metrics-'));
  store = new SqliteStore(join(dir, 'h.db'));
  await store.migrate();
  const at = Date.now() - 90_000;
  await store.insertEvents(
    [0, 1, 2].map((i) => ({
      id: newId('hye', at + i),
      source: 'stripe',
      eventId: `evt_${i}`,
      type: 't',
      receivedAt: at + i,
      headers: [],
      contentType: 'application/json',
      body: new TextEncoder().encode('{}'),
      destinations: [{ destination: 'billing', orderingKey: null }],
    })),
  );
});
after(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('createMetrics', () => {
  test('labels stay bounded whatever the lifecycle events carry', async () => {
    const lifecycle = new Lifecycle();
    const metrics = createMetrics({
      lifecycle,
      store,
      sources: ['stripe'],
      destinations: ['billing'],
    });
    try {
      for (let i = 0; i < 500; i++) {
        lifecycle.emit('request:refused', {
          source: `made-up-${i}`,
          code: 'signature_invalid',
          status: 401,
        });
        lifecycle.emit('request:refused', {
          source: 'stripe',
          code: `no_such_code_${i}`,
          status: 400,
        });
        lifecycle.emit('event:received', {
          id: `x${i}`,
          source: `other-${i}`,
          type: null,
          destinations: [],
        });
        lifecycle.emit('event:acked', { source: `other-${i}`, duplicate: true, seconds: 0.001 });
      }
      const s = parseMetrics(await metrics.scrape());
      const rejected = s.filter((x) => x.name === 'hookyard_requests_rejected_total');
      assert.deepEqual(rejected.map((x) => [x.labels.source, x.labels.code, x.value]).sort(), [
        ['(unknown)', 'signature_invalid', 500],
        ['stripe', 'other', 500],
      ]);
      assert.equal(valueOf(s, 'hookyard_events_received_total', { source: '(unknown)' }), 500);
      assert.equal(valueOf(s, 'hookyard_events_duplicate_total', { source: '(unknown)' }), 500);
      assert.ok(!s.some((x) => /made-up|other-|no_such/.test(JSON.stringify(x.labels))));
    } finally {
      metrics.close();
    }
    // Closed: no longer counting.
    assert.equal(lifecycle.listenerCount('request:refused'), 0);
    assert.equal(lifecycle.listenerCount('delivery:attempt'), 0);
  });

  test('one queue read per scrape, shared by concurrent scrapes; the values', async () => {
    let reads = 0;
    const counting: Pick<Store, 'destinationHealth'> = {
      destinationHealth(...args) {
        reads++;
        return store.destinationHealth(...args);
      },
    };
    const metrics = createMetrics({
      lifecycle: new Lifecycle(),
      store: counting,
      sources: [],
      destinations: ['billing', 'idle'],
      storeMaxAgeMs: 0,
    });
    try {
      const [a] = await Promise.all([metrics.scrape(), metrics.scrape(), metrics.scrape()]);
      assert.equal(reads, 2, 'one read per destination, for three scrapes of four gauges');
      const s = parseMetrics(a);
      assert.equal(valueOf(s, 'hookyard_deliveries_pending', { destination: 'billing' }), 3);
      assert.equal(valueOf(s, 'hookyard_deliveries_pending', { destination: 'idle' }), 0);
      const age = valueOf(s, 'hookyard_delivery_oldest_pending_age_seconds', {
        destination: 'billing',
      });
      assert.ok(age !== undefined && age >= 89 && age < 120, `age ${age}`);
      await metrics.scrape();
      assert.equal(reads, 4, 'storeMaxAgeMs 0: the next scrape reads anew');
    } finally {
      metrics.close();
    }
  });

  test('a store that never answers: the scrape answers after the timeout, storage_up 0', async () => {
    let reads = 0;
    const metrics = createMetrics({
      lifecycle: new Lifecycle(),
      store: {
        destinationHealth: () => {
          reads++;
          return new Promise(() => undefined);
        },
      },
      sources: ['stripe'],
      destinations: ['billing'],
      storeTimeoutMs: 200,
    });
    try {
      const t = Date.now();
      const s = parseMetrics(await metrics.scrape());
      assert.ok(Date.now() - t < 1500, `${Date.now() - t} ms`);
      assert.equal(valueOf(s, 'hookyard_storage_up'), 0);
      assert.equal(valueOf(s, 'hookyard_events_received_total', { source: 'stripe' }), 0);
      assert.equal(
        valueOf(s, 'hookyard_deliveries_pending', { destination: 'billing' }),
        undefined,
      );
      // Scrapes that follow wait on the read still in flight; they do not pile more on it.
      await metrics.scrape();
      await metrics.scrape();
      assert.equal(reads, 1);
    } finally {
      metrics.close();
    }
  });
});
