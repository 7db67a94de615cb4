// `hookyard verify`: one test per diagnosis, each also checking that the signature the given
// secret would make never appears in what is printed.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { nodeSigner } from '../../src/verify/node.ts';
import { sign as signDiscord } from '../../src/verify/discord.ts';
import {
  API_TOKEN,
  cli,
  DISCORD_PRIVATE,
  DISCORD_PUBLIC,
  type ProviderGateway,
  SECRETS,
  startProviderGateway,
} from './helpers.ts';

const stripe = new Stripe('sk_test_offline');
const dir = mkdtempSync(join(tmpdir(), 'hookyard-verify-'));
let gw: ProviderGateway;
before(async () => {
  gw = await startProviderGateway();
});
after(async () => {
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
});

const SECRET: string = SECRETS.stripe;
const nowS = () => Math.floor(Date.now() / 1000);
let files = 0;
function file(body: string): string {
  const path = join(dir, `body-${files++}.json`);
  writeFileSync(path, body);
  return path;
}

/** Every spelling of the signature `secret` would make over `body` at `t` (hex, base64). */
function expectedSignatures(secret: string, t: number, body: string): string[] {
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return [mac.toString('hex'), mac.toString('base64')];
}

async function verifyStripe(
  body: string,
  header: string | null,
  secret = SECRET,
  extra: string[] = [],
) {
  const args = [
    'verify',
    '--provider',
    'stripe',
    '--secret',
    secret,
    '--body',
    file(body),
    ...extra,
  ];
  if (header !== null) args.push('--header', `Stripe-Signature: ${header}`);
  const r = await cli(args);
  const t = Number(/t=(\d+)/.exec(header ?? '')?.[1] ?? nowS());
  for (const sig of expectedSignatures(secret, t, body)) {
    assert.ok(!`${r.stdout}${r.stderr}`.includes(sig), 'the expected signature was printed');
  }
  return r;
}

const BODY = JSON.stringify({
  id: 'evt_verify_1',
  object: 'event',
  type: 'charge.refunded',
  data: { object: { id: 'ch_1', amount: 2000 } },
});

describe('hookyard verify: why a signature fails', () => {
  test('valid: exit 0', async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload: BODY, secret: SECRET });
    const r = await verifyStripe(BODY, header);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^valid: the signature is valid/);
  });

  test('timestamp outside the tolerance: says by how much, both directions', async () => {
    const old = stripe.webhooks.generateTestHeaderString({
      payload: BODY,
      secret: SECRET,
      timestamp: nowS() - 1000,
    });
    const r = await verifyStripe(BODY, old, SECRET, ['--json']);
    assert.equal(r.code, 1);
    const d = JSON.parse(r.stdout) as {
      code: string;
      skew_seconds: number;
      tolerance_seconds: number;
      message: string;
    };
    assert.equal(d.code, 'timestamp_out_of_tolerance');
    assert.ok(Math.abs(d.skew_seconds - 700) <= 1, String(d.skew_seconds));
    assert.equal(d.tolerance_seconds, 300);
    assert.match(
      d.message,
      /signature matches, but the signed timestamp is 100\d s old: (699|700|701) s outside the tolerance of 300 s/,
    );
    const future = stripe.webhooks.generateTestHeaderString({
      payload: BODY,
      secret: SECRET,
      timestamp: nowS() + 400,
    });
    const f = await verifyStripe(BODY, future, SECRET, ['--tolerance', '60']);
    assert.match(
      f.stdout,
      /invalid \(timestamp_out_of_tolerance\): .* (399|400) s in the future: (339|340) s outside the tolerance of 60 s/,
    );
  });

  test('body changed: re-serialised JSON, a trailing newline, CRLF', async () => {
    const pretty = JSON.stringify(JSON.parse(BODY), null, 2);
    const header = stripe.webhooks.generateTestHeaderString({ payload: BODY, secret: SECRET });
    const r = await verifyStripe(pretty, header);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^invalid \(body_changed\): .*re-serialised as compact JSON/);
    const signedPretty = stripe.webhooks.generateTestHeaderString({
      payload: pretty,
      secret: SECRET,
    });
    const compact = await verifyStripe(BODY, signedPretty);
    assert.match(compact.stdout, /body_changed.*indented by 2/);
    const newline = await verifyStripe(`${BODY}\n`, header);
    assert.match(newline.stdout, /body_changed.*trailing newline removed/);
  });

  test('header missing or malformed: names the header', async () => {
    const missing = await verifyStripe(BODY, null);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stdout,
      /invalid \(header_missing_or_malformed\): missing Stripe-Signature header/,
    );
    const malformed = await verifyStripe(BODY, 't=abc,v1=zz');
    assert.match(malformed.stdout, /header_missing_or_malformed.*no valid timestamp/);
    const noV1 = await verifyStripe(BODY, `t=${nowS()},v0=abc`);
    assert.match(noV1.stdout, /header_missing_or_malformed.*no v1 signature/);
  });

  test('from a file, a mismatch cannot tell the secret from the body; from a stored event it is the secret', async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload: BODY, secret: SECRET });
    const r = await verifyStripe(BODY, header, 'whsec_wrong_secret');
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /invalid \(signature_mismatch\): no signature matches this secret: the secret is wrong, or the body/,
    );

    const res = await fetch(`${gw.url}/webhooks/stripe`, {
      method: 'POST',
      body: BODY,
      headers: { 'content-type': 'application/json', 'stripe-signature': header },
    });
    const { id } = (await res.json()) as { id: string };
    const env = { HOOKYARD_URL: gw.url, HOOKYARD_API_TOKEN: API_TOKEN };
    const wrong = await cli(
      ['verify', '--provider', 'stripe', '--secret', 'whsec_wrong_secret', '--event', id],
      env,
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /invalid \(wrong_secret\): wrong secret: these are the exact bytes/);
    const t = Number(/t=(\d+)/.exec(header)?.[1]);
    for (const sig of expectedSignatures('whsec_wrong_secret', t, BODY))
      assert.ok(!wrong.stdout.includes(sig));
    const right = await cli(
      ['verify', '--provider', 'stripe', '--secret', SECRET, '--event', id, '--json'],
      env,
    );
    assert.equal(right.code, 0, right.stderr);
    assert.equal(JSON.parse(right.stdout).code, 'valid');
    const noToken = await cli(
      ['verify', '--provider', 'stripe', '--secret', SECRET, '--event', id],
      { HOOKYARD_URL: gw.url },
    );
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /the gateway answered 401.*HOOKYARD_API_TOKEN/);
    const unknown = await cli([
      'verify',
      '--provider',
      'stripe',
      '--secret',
      SECRET,
      '--event',
      'hye_nope',
      '--token',
      API_TOKEN,
      '--url',
      gw.url,
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /404/);
  });

  test('discord: checked against the public key', async () => {
    const body = '{"type":2,"id":"9"}';
    const headers = signDiscord(
      { privateKey: DISCORD_PRIVATE, body, timestamp: nowS() },
      nodeSigner,
    );
    const path = file(body);
    const argv = (ts: string) => [
      ...['verify', '--provider', 'discord', '--secret', DISCORD_PUBLIC, '--body', path],
      ...['--header', `X-Signature-Ed25519: ${headers['x-signature-ed25519']}`],
      ...['--header', `X-Signature-Timestamp: ${ts}`],
    ];
    const good = await cli(argv(headers['x-signature-timestamp'] as string));
    assert.equal(good.code, 0, good.stdout);
    const changed = await cli(argv(String(nowS() - 1)));
    assert.match(changed.stdout, /invalid \(signature_mismatch\)/);
  });

  test('usage errors exit 2', async () => {
    const body = file(BODY);
    const cases: [string[], RegExp][] = [
      [['verify', '--provider', 'stripe', '--secret', 's'], /give --event <id>, or --body <file>/],
      [
        ['verify', '--provider', 'stripe', '--secret', 's', '--body', body, '--event', 'x'],
        /give --event/,
      ],
      [
        ['verify', '--provider', 'stripe', '--secret', 's', '--body', body, '--header', 'no colon'],
        /--header: expected 'name: value'/,
      ],
      [
        ['verify', '--provider', 'x', '--secret', 's', '--body', body],
        /--provider: expected one of/,
      ],
      [
        ['verify', '--provider', 'discord', '--secret', 'abc', '--body', body],
        /--secret: discord: a public key/,
      ],
      [
        ['verify', '--provider', 'stripe', '--secret', 's', '--body', body, '--tolerance', '-1'],
        /--tolerance/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, message);
    }
  });
});
