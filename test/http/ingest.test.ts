// Ingest over real HTTP on loopback, with requests signed by the providers' own SDKs.
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { API_TOKEN, SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import {
  githubHeaders,
  shopifyHeaders,
  slackHeaders,
  standardWebhooksHeaders,
  stripeHeaders,
} from '../helpers/sign.ts';

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(() => gw.close());

async function json(res: Response): Promise<Record<string, any>> {
  assert.equal(res.headers.get('content-type'), 'application/json');
  return (await res.json()) as Record<string, any>;
}

async function expectError(res: Response, status: number, code: string) {
  const body = await json(res);
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error?.code, code);
  return body;
}

/** The stored bytes, fetched back through the API. */
async function storedBody(id: string): Promise<Buffer> {
  const res = await gw.api(`/events/${id}/body`);
  assert.equal(res.status, 200);
  // Saved by a browser, never sniffed or rendered: a body may be HTML or script.
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('content-disposition'), `attachment; filename="${id}.body"`);
  return Buffer.from(await res.arrayBuffer());
}

function stripeEvent(id = `evt_${randomUUID()}`) {
  // Unicode and odd spacing: stored and verified byte for byte, never re-serialised.
  return `{ "id": "${id}", "type": "payment_intent.succeeded",  "data": {"object": {"id": "pi_1", "description": "café ☕"}} }`;
}

describe('accepted, stored once, byte for byte', () => {
  test('stripe: stored with id and type, duplicate answered with the first id', async () => {
    const body = stripeEvent();
    const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
    const first = await json(res);
    assert.equal(res.status, 200);
    assert.equal(first.status, 'received');
    assert.match(first.id, /^hye_/);
    assert.deepEqual(await storedBody(first.id), Buffer.from(body));

    // Stripe retries with a new timestamp and signature: still the same event.
    const again = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
    assert.deepEqual(await json(again), { id: first.id, status: 'duplicate' });

    const detail = await json(await gw.api(`/events/${first.id}`));
    assert.equal(detail.type, 'payment_intent.succeeded');
    assert.equal(detail.source, 'stripe');
    assert.equal(detail.body, body);
    assert.equal(detail.body_encoding, 'utf8');
    assert.ok(detail.headers.some(([n]: [string]) => n.toLowerCase() === 'stripe-signature'));
  });

  test('github: both rotated secrets, ping stored like any event', async () => {
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const delivery = randomUUID();
    const res = await gw.post(
      'github',
      body,
      await githubHeaders(body, SECRETS.githubOld, 'ping', delivery),
    );
    const r = await json(res);
    assert.equal(r.status, 'received');
    const detail = await json(await gw.api(`/events/${r.id}`));
    assert.equal(detail.type, 'ping');
    assert.equal(detail.event_id, delivery);
    // A redelivery keeps X-GitHub-Delivery: a duplicate.
    const redo = await gw.post(
      'github',
      body,
      await githubHeaders(body, SECRETS.github, 'ping', delivery),
    );
    assert.equal((await json(redo)).status, 'duplicate');
  });

  test('github: form-encoded payload verified over the raw form bytes', async () => {
    const body = `payload=${encodeURIComponent(JSON.stringify({ ref: 'refs/heads/main' }))}`;
    const headers = await githubHeaders(body, SECRETS.github, 'push', randomUUID());
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const r = await json(await gw.post('github', body, headers));
    assert.equal(r.status, 'received');
    assert.deepEqual(await storedBody(r.id), Buffer.from(body));
  });

  test('standard webhooks (standardwebhooks signer) and shopify (official getHmac)', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', data: { n: 1 } });
    const id = `msg_${randomUUID()}`;
    const sw = await json(
      await gw.post('partner', body, standardWebhooksHeaders(body, SECRETS.partner, id)),
    );
    assert.equal(sw.status, 'received');
    assert.equal((await json(await gw.api(`/events/${sw.id}`))).type, 'invoice.paid');

    const eventId = randomUUID();
    const shop = await json(
      await gw.post('shop', body, shopifyHeaders(body, SECRETS.shopify, 'orders/create', eventId)),
    );
    assert.equal(shop.status, 'received');
    const detail = await json(await gw.api(`/events/${shop.id}`));
    assert.equal(detail.type, 'orders/create');
    assert.equal(detail.event_id, eventId);
  });

  test('generic hmac with id header and type path', async () => {
    const body = JSON.stringify({ event: 'thing.happened' });
    const sig = createHmac('sha256', SECRETS.custom).update(body).digest('hex');
    const headers = {
      'content-type': 'application/json',
      'x-signature': `sha256=${sig}`,
      'x-event-id': 'c-1',
    };
    const r = await json(await gw.post('custom', body, headers));
    const detail = await json(await gw.api(`/events/${r.id}`));
    assert.equal(detail.type, 'thing.happened');
    assert.equal(detail.event_id, 'c-1');
  });

  test('binary body is stored exactly and shown as base64', async () => {
    const body = new Uint8Array([0, 255, 1, 254, 0x80, 0x7f]);
    const sig = createHmac('sha256', SECRETS.custom).update(body).digest('hex');
    const headers = { 'content-type': 'application/octet-stream', 'x-signature': `sha256=${sig}` };
    const r = await json(await gw.post('custom', body, headers));
    assert.deepEqual(await storedBody(r.id), Buffer.from(body));
    const detail = await json(await gw.api(`/events/${r.id}`));
    assert.equal(detail.body_encoding, 'base64');
    assert.equal(detail.event_id.slice(0, 7), 'sha256:');
  });
});

describe('slack', () => {
  test('url_verification is answered with the challenge and not stored', async () => {
    const body = JSON.stringify({ token: 't', challenge: 'ch4ll3nge', type: 'url_verification' });
    const res = await gw.post('slack', body, slackHeaders(body, SECRETS.slack));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { challenge: 'ch4ll3nge' });
    const list = await json(await gw.api('/events?source=slack&type=url_verification'));
    assert.equal(list.data.length, 0);
  });

  test('an unsigned url_verification is refused', async () => {
    const body = JSON.stringify({ challenge: 'x', type: 'url_verification' });
    await expectError(
      await gw.post('slack', body, { 'content-type': 'application/json' }),
      401,
      'signature_invalid',
    );
  });

  test('events API: type from the inner event, retries deduplicated on event_id', async () => {
    const body = JSON.stringify({
      type: 'event_callback',
      event_id: `Ev${randomUUID()}`,
      event: { type: 'app_mention' },
    });
    const first = await json(await gw.post('slack', body, slackHeaders(body, SECRETS.slack)));
    const retry = {
      ...slackHeaders(body, SECRETS.slack),
      'x-slack-retry-num': '1',
      'x-slack-retry-reason': 'http_timeout',
    };
    assert.deepEqual(await json(await gw.post('slack', body, retry)), {
      id: first.id,
      status: 'duplicate',
    });
    assert.equal((await json(await gw.api(`/events/${first.id}`))).type, 'app_mention');
  });

  test('slash command (form) and ssl_check', async () => {
    const body = `command=%2Fdeploy&text=now&trigger_id=${randomUUID()}`;
    const headers = slackHeaders(
      body,
      SECRETS.slack,
      undefined,
      'application/x-www-form-urlencoded',
    );
    const r = await json(await gw.post('slack', body, headers));
    assert.equal((await json(await gw.api(`/events/${r.id}`))).type, 'slash_command');
    const check = await gw.post('slack', 'ssl_check=1&token=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(check.status, 200);
  });
});

describe('refused with the exact status and code, server stays healthy', () => {
  const body = stripeEvent();

  test('tampered body, wrong secret, missing signature', async () => {
    const headers = stripeHeaders(body, SECRETS.stripe);
    await expectError(
      await gw.post('stripe', body.replace('pi_1', 'pi_2'), headers),
      401,
      'signature_invalid',
    );
    await expectError(
      await gw.post('stripe', body, stripeHeaders(body, 'whsec_wrong')),
      401,
      'signature_invalid',
    );
    await expectError(
      await gw.post('stripe', body, { 'content-type': 'application/json' }),
      401,
      'signature_invalid',
    );
  });

  test('timestamps too old and too new', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const ts of [now - 600, now + 600]) {
      await expectError(
        await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe, ts)),
        401,
        'timestamp_out_of_tolerance',
      );
    }
  });

  test('duplicated signature header', async () => {
    const sig = stripeHeaders(body, SECRETS.stripe)['stripe-signature'] ?? '';
    // Joined into one line, as a proxy might forward it:
    await expectError(
      await gw.post('stripe', body, { 'stripe-signature': `${sig}, ${sig}` }),
      401,
      'signature_invalid',
    );
    // Two separate header lines, written on a raw socket:
    const { connect } = await import('node:net');
    const { port } = new URL(gw.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.end(
          `POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
            `Stripe-Signature: ${sig}\r\nStripe-Signature: ${sig}\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      });
      let data = '';
      socket.on('data', (c) => {
        data += c;
      });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 401 /);
    assert.match(raw, /"code":"signature_invalid"/);
    assert.match(raw, /more than once/);
  });

  test('signed but unreadable payloads: 400 payload_invalid', async () => {
    const bad = '{"id": "evt_x", ';
    await expectError(
      await gw.post('stripe', bad, stripeHeaders(bad, SECRETS.stripe)),
      400,
      'payload_invalid',
    );
    const noId = '{"type": "x"}';
    await expectError(
      await gw.post('stripe', noId, stripeHeaders(noId, SECRETS.stripe)),
      400,
      'payload_invalid',
    );
    const gh = await githubHeaders(noId, SECRETS.github, 'push', 'x');
    delete gh['x-github-delivery'];
    await expectError(await gw.post('github', noId, gh), 400, 'payload_invalid');
  });

  test('unknown source 404, wrong method 405 with Allow', async () => {
    await expectError(await gw.post('nope', body, {}), 404, 'source_not_found');
    await expectError(await gw.post('%E0%A4%A', body, {}), 404, 'source_not_found');
    const res = await fetch(`${gw.url}/webhooks/stripe`);
    assert.equal(res.headers.get('allow'), 'POST');
    await expectError(res, 405, 'method_not_allowed');
    await expectError(
      await fetch(`${gw.url}/webhooks/stripe`, { method: 'PUT', body: 'x' }),
      405,
      'method_not_allowed',
    );
  });

  test('error bodies never echo a secret or the expected signature', async () => {
    const headers = stripeHeaders(body, 'whsec_wrong');
    const res = await gw.post('stripe', body, headers);
    const text = await res.text();
    const expected =
      stripeHeaders(body, SECRETS.stripe)['stripe-signature']?.split('v1=')[1] ?? 'x';
    assert.ok(!text.includes(SECRETS.stripe));
    assert.ok(!text.includes(expected));
    const rejections = await (await gw.api('/rejections')).text();
    assert.ok(!rejections.includes(SECRETS.stripe));
  });

  test('the server is still healthy and accepting afterwards', async () => {
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${gw.url}/readyz`)).status, 200);
    const fresh = stripeEvent();
    assert.equal(
      (await gw.post('stripe', fresh, stripeHeaders(fresh, SECRETS.stripe))).status,
      200,
    );
  });

  test('refusals are counted and listed with their reason', async () => {
    const r = await json(await gw.api('/rejections'));
    assert.ok(r.total >= 10);
    const codes = new Set(r.data.map((x: { code: string }) => x.code));
    for (const code of [
      'signature_invalid',
      'timestamp_out_of_tolerance',
      'payload_invalid',
      'source_not_found',
      'method_not_allowed',
    ]) {
      assert.ok(codes.has(code), code);
    }
    assert.ok(
      r.counts.some(
        (c: { source: string; code: string }) =>
          c.source === 'stripe' && c.code === 'signature_invalid',
      ),
    );
  });
});

describe('concurrency', () => {
  test('400 concurrent requests (100 of them duplicates) all answered, each event stored once', async () => {
    const ids = Array.from({ length: 300 }, () => `evt_${randomUUID()}`);
    const requests = [...ids, ...ids.slice(0, 100)].map((id) => {
      const body = stripeEvent(id);
      return gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe)).then(json);
    });
    const replies = await Promise.all(requests);
    const byStatus = { received: 0, duplicate: 0 } as Record<string, number>;
    for (const r of replies) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    assert.equal(byStatus.received, 300);
    assert.equal(byStatus.duplicate, 100);
    assert.equal(new Set(replies.map((r) => r.id)).size, 300);
  });
});

describe('API', () => {
  test('bearer token required', async () => {
    await expectError(await fetch(`${gw.url}/api/events`), 401, 'unauthorized');
    await expectError(await gw.api('/events', `${API_TOKEN}x`), 401, 'unauthorized');
  });

  test('filters, newest first, cursor pagination without gaps or repeats', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const body = JSON.stringify({ type: i % 2 ? 'page.odd' : 'page.even', i });
      const r = await json(
        await gw.post(
          'partner',
          body,
          standardWebhooksHeaders(body, SECRETS.partner, `page-${i}-${randomUUID()}`),
        ),
      );
      ids.push(r.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/events?source=partner&type=page.*&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await json(await gw.api(q));
      assert.ok(page.data.length <= 3);
      seen.push(...page.data.map((e: { id: string }) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
    const odd = await json(await gw.api('/events?source=partner&type=page.odd'));
    assert.equal(odd.data.length, 3);
    const future = await json(await gw.api(`/events?since=${Math.floor(Date.now() / 1000) + 60}`));
    assert.equal(future.data.length, 0);
    const until = await json(
      await gw.api(
        `/events?source=partner&until=${new Date(Date.now() + 1000).toISOString()}&limit=500`,
      ),
    );
    assert.ok(until.data.length >= 7);
  });

  test('bad queries and unknown events', async () => {
    await expectError(await gw.api('/events?limit=0'), 400, 'query_invalid');
    await expectError(await gw.api('/events?since=yesterday'), 400, 'query_invalid');
    await expectError(await gw.api('/events?cursor=bm9wZQ'), 400, 'query_invalid');
    await expectError(await gw.api('/events/hye_nope'), 404, 'not_found');
    await expectError(await fetch(`${gw.url}/nothing`), 404, 'not_found');
  });
});
