// `hookyard send`: for every provider and every built-in event, what it signs is accepted by
// the provider's official library (a loopback "judge" server verifies each request the CLI
// posts, byte for byte as received) and by a running gateway (200). Fresh ids per send.
import '@shopify/shopify-api/adapters/node';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { ApiVersion, LogSeverity, shopifyApi } from '@shopify/shopify-api';
import { verifySlackRequest } from '@slack/bolt';
import { verifyKey } from 'discord-interactions';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { FIXTURES } from '../../src/cli/fixtures/index.ts';
import { PROVIDERS, type Provider } from '../../src/verify/index.ts';
import {
  API_TOKEN,
  cli,
  DISCORD_PUBLIC,
  type ProviderGateway,
  SECRETS,
  startProviderGateway,
} from './helpers.ts';

const stripe = new Stripe('sk_test_offline');
const shopify = shopifyApi({
  apiKey: 'hookyard-cli-test',
  apiSecretKey: SECRETS.shopify,
  hostName: '127.0.0.1',
  apiVersion: ApiVersion.July25,
  isEmbeddedApp: false,
  logger: { level: LogSeverity.Error, log: async () => {} },
});

function one(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return typeof v === 'string' ? v : '';
}

function hmacHex(key: string, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

function sameText(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The official library's verdict on a request (independent node:crypto for Zoom and hmac,
 * which publish none). Throws or returns false when it refuses. */
async function officialVerdict(
  provider: Provider,
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
): Promise<boolean> {
  const text = body.toString('utf8');
  switch (provider) {
    case 'stripe':
      return Boolean(
        stripe.webhooks.constructEvent(body, one(req, 'stripe-signature'), SECRETS.stripe),
      );
    case 'github':
      return octokitVerify(SECRETS.github, text, one(req, 'x-hub-signature-256'));
    case 'slack':
      verifySlackRequest({
        signingSecret: SECRETS.slack,
        body: text,
        headers: {
          'x-slack-signature': one(req, 'x-slack-signature'),
          'x-slack-request-timestamp': Number(one(req, 'x-slack-request-timestamp')),
        },
      });
      return true;
    case 'shopify': {
      const r = await shopify.webhooks.validate({
        rawBody: text,
        rawRequest: req,
        rawResponse: res,
      });
      return r.valid;
    }
    case 'standard-webhooks': {
      const headers = req.headers as Record<string, string>;
      new StandardWebhook(SECRETS['standard-webhooks']).verify(text, headers);
      new SvixWebhook(SECRETS['standard-webhooks']).verify(text, headers);
      return true;
    }
    case 'discord':
      return verifyKey(
        body,
        one(req, 'x-signature-ed25519'),
        one(req, 'x-signature-timestamp'),
        DISCORD_PUBLIC,
      );
    case 'zoom': {
      // Zoom's documented construction, computed here with node:crypto.
      const ts = one(req, 'x-zm-request-timestamp');
      return sameText(
        one(req, 'x-zm-signature'),
        `v0=${hmacHex(SECRETS.zoom, `v0:${ts}:${text}`)}`,
      );
    }
    case 'hmac':
      return sameText(one(req, 'x-signature'), `sha256=${hmacHex(SECRETS.hmac, text)}`);
  }
}

const judged: { provider: string; ok: boolean; reason?: string; eventId?: string }[] = [];
const judge = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const provider = (req.url ?? '').slice(1) as Provider;
    const body = Buffer.concat(chunks);
    officialVerdict(provider, req, body, res).then(
      (ok) => {
        judged.push({
          provider,
          ok,
          eventId: String(req.headers['x-github-delivery'] ?? body.length),
        });
        res.writeHead(ok ? 200 : 401).end(ok ? 'accepted' : 'refused');
      },
      (error: unknown) => {
        judged.push({ provider, ok: false, reason: String(error) });
        res.writeHead(401).end(String(error));
      },
    );
  });
});
let judgeUrl = '';
let gw: ProviderGateway;
const dir = mkdtempSync(join(tmpdir(), 'hookyard-send-'));

before(async () => {
  await new Promise<void>((resolve) => judge.listen(0, '127.0.0.1', resolve));
  judgeUrl = `http://127.0.0.1:${(judge.address() as AddressInfo).port}`;
  gw = await startProviderGateway();
});
after(async () => {
  await new Promise<void>((resolve) => judge.close(() => resolve()));
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('hookyard send: every provider, every built-in event', () => {
  test('the fixtures cover every provider', () => {
    assert.deepEqual(Object.keys(FIXTURES).sort(), [...PROVIDERS].sort());
    for (const p of PROVIDERS) assert.ok(FIXTURES[p].events[FIXTURES[p].defaultEvent], p);
  });

  for (const provider of PROVIDERS) {
    for (const event of Object.keys(FIXTURES[provider].events)) {
      test(`${provider} ${event}: the official library accepts it, and the gateway answers 200`, async () => {
        const args = ['--provider', provider, '--event', event, '--secret', SECRETS[provider]];
        const before = judged.length;
        const toJudge = await cli(['send', `${judgeUrl}/${provider}`, ...args, '--count', '2']);
        assert.equal(toJudge.code, 0, `${toJudge.stdout}${toJudge.stderr}`);
        assert.deepEqual(
          judged.slice(before).map((j) => [j.ok, j.reason]),
          [
            [true, undefined],
            [true, undefined],
          ],
        );
        assert.match(toJudge.stdout, /^200 {2}\d+(\.\d)? ms {2}/m);

        const toGateway = await cli(['send', ...args, '--json'], { HOOKYARD_URL: gw.url });
        assert.equal(toGateway.code, 0, toGateway.stdout + toGateway.stderr);
        const line = JSON.parse(toGateway.stdout) as {
          status: number;
          response: string;
          url: string;
        };
        assert.equal(line.status, 200, line.response);
        assert.equal(line.url, `${gw.url}/webhooks/${provider}`);
      });
    }
  }

  test('fresh ids and timestamps per send: two sends are two events, never a duplicate', async () => {
    for (const provider of PROVIDERS) {
      const r = await cli(
        ['send', '--provider', provider, '--secret', SECRETS[provider], '--count', '2', '--json'],
        { HOOKYARD_URL: gw.url },
      );
      const replies = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(JSON.parse(l).response) as { id: string; status: string });
      assert.deepEqual(
        replies.map((x) => x.status),
        ['received', 'received'],
        provider,
      );
      assert.notEqual(replies[0]?.id, replies[1]?.id, provider);
    }
  });

  test('handshakes come back as the providers require', async () => {
    const slack = await cli(
      [
        'send',
        '--provider',
        'slack',
        '--event',
        'url_verification',
        '--secret',
        SECRETS.slack,
        '--json',
      ],
      { HOOKYARD_URL: gw.url },
    );
    assert.match(JSON.parse(slack.stdout).response, /^\{"challenge":"[0-9a-f]{32}"\}$/);
    const discord = await cli(
      ['send', '--provider', 'discord', '--event', 'ping', '--secret', SECRETS.discord, '--json'],
      { HOOKYARD_URL: gw.url },
    );
    assert.equal(JSON.parse(discord.stdout).response, '{"type":1}');
    // The key to configure is public, and said (on stderr, so stdout stays the results).
    const text = await cli(['send', '--provider', 'discord', '--secret', SECRETS.discord], {
      HOOKYARD_URL: gw.url,
    });
    assert.equal(text.code, 0, text.stdout);
    assert.equal(text.stderr, `discord public_key: ${DISCORD_PUBLIC}\n`);
  });

  test('--data sends your own bytes unchanged (a file and stdin); a wrong secret exits 1', async () => {
    const body = '{ "id": "evt_own_1",\n  "type": "charge.refunded" }\n';
    const file = join(dir, 'own.json');
    writeFileSync(file, body);
    const fromFile = await cli(
      ['send', '--provider', 'stripe', '--secret', SECRETS.stripe, '--data', file, '--json'],
      { HOOKYARD_URL: gw.url },
    );
    assert.equal(fromFile.code, 0, fromFile.stdout);
    const { id } = JSON.parse(JSON.parse(fromFile.stdout).response) as { id: string };
    const stored = (await (
      await fetch(`${gw.url}/api/events/${id}`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      })
    ).json()) as { body: string; event_id: string };
    assert.equal(stored.body, body);
    const fromStdin = await cli(
      ['send', '--provider', 'github', '--secret', SECRETS.github, '--data', '-'],
      { HOOKYARD_URL: gw.url },
      '{"zen":"stdin"}',
    );
    assert.equal(fromStdin.code, 0, fromStdin.stdout + fromStdin.stderr);

    const wrong = await cli(
      ['send', '--provider', 'stripe', '--secret', 'whsec_wrong', '--count', '2'],
      { HOOKYARD_URL: gw.url },
    );
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stdout.match(/^401 /gm)?.length, 2, wrong.stdout);
    assert.match(wrong.stdout, /signature_invalid/);
    assert.match(wrong.stderr, /2 of 2 not accepted/);
  });

  test('usage errors exit 2 with the reason on stderr, before anything is sent', async () => {
    const cases: [string[], RegExp][] = [
      [['send', '--secret', 's'], /Missing required argument: --provider/],
      [['send', '--provider', 'stripe'], /Missing required argument: --secret/],
      [['send', '--provider', 'nope', '--secret', 's'], /--provider: expected one of stripe/],
      [
        ['send', '--provider', 'stripe', '--secret', 's', '--event', 'nope'],
        /no built-in stripe event "nope"/,
      ],
      [
        ['send', '--provider', 'stripe', '--secret', 's', '--count', '0'],
        /--count: expected a whole number/,
      ],
      [['send', '--provider', 'stripe', '--secret', 's', '--bogus'], /unknown option --bogus/],
      [['send', '--provider', 'stripe', '--secret'], /--secret needs a value/],
      [
        ['send', '--provider', 'discord', '--secret', 'not-hex'],
        /--secret: discord: a private key is 64 hex digits/,
      ],
      [
        ['send', '--provider', 'stripe', '--secret', 's', '--url', 'ftp://x'],
        /--url: expected an http/,
      ],
    ];
    const before = judged.length;
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
      assert.equal(r.stdout, '');
    }
    assert.equal(judged.length, before);
  });
});
