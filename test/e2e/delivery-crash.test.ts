// kill -9 the gateway while it delivers under load, restart it: every acknowledged event
// reaches the destination at least once. Duplicates come only from attempts in flight at the
// kill; they are counted and each carries the same Idempotency-Key.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startServerProcess } from '../helpers/process.ts';
import { githubHeaders } from '../helpers/sign.ts';
import { startSink } from '../helpers/sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'hookyard-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('kill -9 mid-delivery: every acknowledged event is delivered after restart', async (t) => {
  const sink = await startSink();
  sink.respond = () => ({ status: 200, delayMs: 5 });
  const config = join(dir, 'crash.yaml');
  writeFileSync(
    config,
    `storage: sqlite:${join(dir, 'crash.db')}\nserver: { port: 0 }\n` +
      `sources:\n  gh: { provider: github, secret: s3cret }\n` +
      `destinations:\n  app: { url: "${sink.url}/hooks", concurrency: 10, backoff_base: 100ms }\n` +
      `routes:\n  - { source: gh, to: app }\n`,
  );
  const server = await startServerProcess(['serve', '--config', config]);
  const acknowledged = new Set<string>();
  let stop = false;
  const body = JSON.stringify({ action: 'opened', issue: { number: 1 } });
  const worker = async () => {
    while (!stop) {
      try {
        const res = await fetch(`${server.url}/webhooks/gh`, {
          method: 'POST',
          body,
          headers: await githubHeaders(body, 's3cret', 'issues', randomUUID()),
        });
        if (res.status === 200) acknowledged.add(((await res.json()) as { id: string }).id);
      } catch {
        // cut by the kill: never acknowledged
      }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  await sink.waitFor(50, 10_000); // deliveries are under way
  server.child.kill('SIGKILL');
  await new Promise((r) => server.child.once('exit', r));
  stop = true;
  await Promise.all(workers);
  const beforeRestart = sink.received.length;

  const again = await startServerProcess(['serve', '--config', config]);
  try {
    const deadline = Date.now() + 30_000;
    const delivered = () => new Set(sink.received.map((r) => String(r.headers['idempotency-key'])));
    const undelivered = () => {
      const got = delivered(); // once per check: the sink shares this event loop
      return [...acknowledged].some((id) => !got.has(id));
    };
    while (undelivered()) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const got = delivered();
    const missing = [...acknowledged].filter((id) => !got.has(id));
    assert.deepEqual(
      missing,
      [],
      `${missing.length} of ${acknowledged.size} acknowledged events never delivered`,
    );
    const duplicates = sink.received.length - got.size;
    t.diagnostic(
      `acknowledged ${acknowledged.size}, delivered before the kill ${beforeRestart}, ` +
        `deliveries ${sink.received.length}, duplicates ${duplicates}`,
    );
    // At most the attempts in flight at the kill (concurrency 10) can be repeated.
    assert.ok(duplicates <= 10, `${duplicates} duplicates`);
  } finally {
    await again.stop();
    await sink.close();
  }
});
