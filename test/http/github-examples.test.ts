// Every payload in @octokit/webhooks-examples (real GitHub payloads for every event), signed
// with @octokit/webhooks-methods, is accepted and stored under its real event name.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { githubHeaders } from '../helpers/sign.ts';

const require = createRequire(import.meta.url);
const EVENTS = require('@octokit/webhooks-examples') as { name: string; examples: unknown[] }[];

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(() => gw.close());

test('every example of every GitHub event is accepted with its event name', async () => {
  let total = 0;
  for (const { name, examples } of EVENTS) {
    await Promise.all(
      examples.map(async (example) => {
        // The package holds parsed objects; the bytes we send are what GitHub would sign.
        const body = JSON.stringify(example, null, 2);
        const delivery = randomUUID();
        const res = await gw.post(
          'github',
          body,
          await githubHeaders(body, SECRETS.github, name, delivery),
        );
        const reply = (await res.json()) as { id: string; status: string };
        assert.equal(res.status, 200, `${name}: ${JSON.stringify(reply)}`);
        assert.equal(reply.status, 'received');
        total++;
      }),
    );
  }
  assert.ok(EVENTS.length >= 50, `only ${EVENTS.length} event kinds found`);
  const stored = (await (
    await gw.api('/events?source=github&type=pull_request&limit=500')
  ).json()) as {
    data: { type: string }[];
  };
  const pr = EVENTS.find((e) => e.name === 'pull_request');
  assert.equal(stored.data.length, pr?.examples.length);
  assert.ok(total > 300, `${total} examples`);
});
