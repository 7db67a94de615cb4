// Discord (Ed25519 over timestamp + body) and Zoom (`v0` HMAC) on both verifier builds, against
// the official `discord-interactions` package and Zoom's documented construction computed
// independently with node:crypto; then their handshakes and refusals through a real gateway.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign as edSign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { verifyKey } from 'discord-interactions';
import fc from 'fast-check';
import { parseConfigText } from '../../src/config.ts';
import {
  VerifierConfigError,
  type VerifierOptions,
  type VerifyResult,
} from '../../src/verify/index.ts';
import { discordPublicKey, sign as signDiscord } from '../../src/verify/discord.ts';
import { nodeSigner } from '../../src/verify/node.ts';
import { encryptedToken, sign as signZoom } from '../../src/verify/zoom.ts';
import {
  API_TOKEN,
  DISCORD_PRIVATE,
  DISCORD_PUBLIC,
  type ProviderGateway,
  SECRETS,
  startProviderGateway,
} from '../cli/helpers.ts';
import { BUILDS } from '../helpers/verifiers.ts';

const codeOf = (r: VerifyResult) => (r.ok ? 'ok' : r.error.code);
const nowS = () => Math.floor(Date.now() / 1000);

async function everyBuild(
  options: VerifierOptions,
  body: string | Uint8Array,
  headers: Record<string, string | string[]>,
  now?: number,
) {
  const codes = new Set<string>();
  for (const build of BUILDS) {
    codes.add(
      codeOf(await build.verify(options, { body, headers, ...(now !== undefined && { now }) })),
    );
  }
  assert.equal(codes.size, 1, `builds disagree: ${[...codes].join(', ')}`);
  return [...codes][0];
}

/** An independent Discord signer: a fresh node:crypto Ed25519 key pair. */
function independentDiscord() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return {
    publicKey: raw.toString('hex'),
    sign: (ts: string, body: string) =>
      edSign(null, Buffer.from(ts + body), privateKey).toString('hex'),
  };
}

const BODY = '{"type":2,"id":"1234567890","data":{"name":"deploy"}}';

describe('discord: Ed25519 over X-Signature-Timestamp + body', () => {
  const options: VerifierOptions = { provider: 'discord', publicKey: DISCORD_PUBLIC };

  test('our sign() is accepted by discord-interactions verifyKey, and by both builds', async () => {
    const ts = nowS();
    const headers = signDiscord(
      { privateKey: DISCORD_PRIVATE, body: BODY, timestamp: ts },
      nodeSigner,
    );
    assert.equal(
      await verifyKey(BODY, headers['x-signature-ed25519'] as string, String(ts), DISCORD_PUBLIC),
      true,
    );
    assert.equal(await everyBuild(options, BODY, headers), 'ok');
    assert.equal(discordPublicKey(DISCORD_PRIVATE, nodeSigner), DISCORD_PUBLIC); // RFC 8032 vector 1
  });

  test('an independent signature that discord-interactions accepts, both builds accept', async () => {
    const other = independentDiscord();
    const ts = String(nowS());
    const sig = other.sign(ts, BODY);
    assert.equal(await verifyKey(BODY, sig, ts, other.publicKey), true);
    const headers = { 'x-signature-ed25519': sig, 'x-signature-timestamp': ts };
    assert.equal(
      await everyBuild({ provider: 'discord', publicKey: other.publicKey }, BODY, headers),
      'ok',
    );
    // Rotation: the key is found second in a list.
    assert.equal(
      await everyBuild(
        { provider: 'discord', publicKey: [DISCORD_PUBLIC, other.publicKey] },
        BODY,
        headers,
      ),
      'ok',
    );
  });

  test('hostile requests: refused where discord-interactions refuses, with the SPEC codes', async () => {
    const ts = String(nowS());
    const good = signDiscord(
      { privateKey: DISCORD_PRIVATE, body: BODY, timestamp: Number(ts) },
      nodeSigner,
    );
    const sig = good['x-signature-ed25519'] as string;
    const probe = independentDiscord().sign(ts, BODY); // Discord's own probes: a valid-looking, wrong signature
    const flipped = `${sig.slice(0, -2)}${sig.endsWith('00') ? '01' : '00'}`;
    const cases: [string, string, Record<string, string | string[]>, boolean][] = [
      [
        'a probe signed by another key',
        BODY,
        { 'x-signature-ed25519': probe, 'x-signature-timestamp': ts },
        false,
      ],
      [
        'one bit of the signature changed',
        BODY,
        { ...good, 'x-signature-ed25519': flipped },
        false,
      ],
      ['the body changed', `${BODY} `, good, false],
      [
        'the timestamp changed',
        BODY,
        { ...good, 'x-signature-timestamp': String(Number(ts) + 1) },
        false,
      ],
      ['no signature header', BODY, { 'x-signature-timestamp': ts }, false],
      ['no timestamp header', BODY, { 'x-signature-ed25519': sig }, false],
      ['signature not hex', BODY, { ...good, 'x-signature-ed25519': 'z'.repeat(128) }, false],
      ['signature too short', BODY, { ...good, 'x-signature-ed25519': sig.slice(0, 126) }, false],
      ['empty signature', BODY, { ...good, 'x-signature-ed25519': '' }, false],
    ];
    for (const [name, body, headers, accepted] of cases) {
      const library = await verifyKey(
        body,
        String(headers['x-signature-ed25519'] ?? ''),
        String(headers['x-signature-timestamp'] ?? ''),
        DISCORD_PUBLIC,
      ).catch(() => false);
      assert.equal(library, accepted, `discord-interactions on ${name}`);
      assert.equal(await everyBuild(options, body, headers), 'signature_invalid', name);
    }
    // Sent twice: never two candidates.
    assert.equal(
      await everyBuild(options, BODY, { ...good, 'x-signature-ed25519': [sig, sig] }),
      'signature_invalid',
    );
  });

  test('a stale or future timestamp with a good signature is timestamp_out_of_tolerance', async () => {
    const now = Date.now();
    for (const skew of [-302, 302, 86_400]) {
      const ts = Math.floor(now / 1000) - skew;
      const headers = signDiscord(
        { privateKey: DISCORD_PRIVATE, body: BODY, timestamp: ts },
        nodeSigner,
      );
      assert.equal(
        await everyBuild(options, BODY, headers, now),
        'timestamp_out_of_tolerance',
        String(skew),
      );
    }
    const edge = signDiscord(
      { privateKey: DISCORD_PRIVATE, body: BODY, timestamp: Math.floor(now / 1000) - 299 },
      nodeSigner,
    );
    assert.equal(await everyBuild(options, BODY, edge, now), 'ok');
    const old = signDiscord(
      { privateKey: DISCORD_PRIVATE, body: BODY, timestamp: nowS() - 1000 },
      nodeSigner,
    );
    assert.equal(await everyBuild({ ...options, tolerance: 0 }, BODY, old), 'ok');
  });

  test('an unusable public key is refused when the verifier is built', () => {
    for (const publicKey of [
      '',
      'abc',
      'zz'.repeat(32),
      'ab'.repeat(31),
      ['ab'.repeat(32), 'nope'],
    ]) {
      for (const build of BUILDS) {
        assert.throws(
          () => build.create({ provider: 'discord', publicKey }),
          VerifierConfigError,
          JSON.stringify(publicKey),
        );
      }
    }
  });
});

describe('zoom: x-zm-signature v0 = HMAC-SHA256(secret, "v0:{ts}:{body}")', () => {
  const secret: string = SECRETS.zoom;
  const options: VerifierOptions = { provider: 'zoom', secret };
  const zoomBody =
    '{"event":"meeting.started","event_ts":1700000000000,"payload":{"object":{"id":85123456789}}}';
  /** Zoom's documented construction, independently with node:crypto. */
  const independent = (ts: string, body: string, key = secret) =>
    `v0=${createHmac('sha256', key).update(`v0:${ts}:${body}`).digest('hex')}`;

  test('an independently computed signature verifies, and our sign() computes the same', async () => {
    const ts = String(nowS());
    const headers = { 'x-zm-signature': independent(ts, zoomBody), 'x-zm-request-timestamp': ts };
    assert.equal(await everyBuild(options, zoomBody, headers), 'ok');
    assert.deepEqual(
      signZoom({ secret, body: zoomBody, timestamp: Number(ts) }, nodeSigner),
      headers,
    );
  });

  test('encryptedToken is the hex HMAC-SHA256 of plainToken with the secret token', () => {
    const plainToken = 'qgg8vlvZRS6UYooatFL8Aw';
    assert.equal(
      encryptedToken(secret, plainToken, nodeSigner),
      createHmac('sha256', secret).update(plainToken).digest('hex'),
    );
  });

  test('hostile requests get the SPEC codes', async () => {
    const ts = String(nowS());
    const sig = independent(ts, zoomBody);
    const cases: [string, Record<string, string | string[]>, string, string?][] = [
      [
        'wrong secret',
        { 'x-zm-signature': independent(ts, zoomBody, 'other'), 'x-zm-request-timestamp': ts },
        'signature_invalid',
      ],
      [
        'body changed',
        { 'x-zm-signature': sig, 'x-zm-request-timestamp': ts },
        'signature_invalid',
        `${zoomBody}\n`,
      ],
      [
        'no v0= prefix',
        { 'x-zm-signature': sig.slice(3), 'x-zm-request-timestamp': ts },
        'signature_invalid',
      ],
      [
        'v1= prefix',
        { 'x-zm-signature': `v1=${sig.slice(3)}`, 'x-zm-request-timestamp': ts },
        'signature_invalid',
      ],
      ['no signature', { 'x-zm-request-timestamp': ts }, 'signature_invalid'],
      ['no timestamp', { 'x-zm-signature': sig }, 'signature_invalid'],
      [
        'timestamp not digits',
        { 'x-zm-signature': sig, 'x-zm-request-timestamp': `${ts}.0` },
        'signature_invalid',
      ],
      [
        'signature twice',
        { 'x-zm-signature': [sig, sig], 'x-zm-request-timestamp': ts },
        'signature_invalid',
      ],
    ];
    for (const [name, headers, code, body] of cases) {
      assert.equal(await everyBuild(options, body ?? zoomBody, headers), code, name);
    }
    const stale = String(nowS() - 600);
    assert.equal(
      await everyBuild(options, zoomBody, {
        'x-zm-signature': independent(stale, zoomBody),
        'x-zm-request-timestamp': stale,
      }),
      'timestamp_out_of_tolerance',
    );
  });
});

describe('handshakes and refusals through a real gateway', () => {
  let gw: ProviderGateway;
  before(async () => {
    gw = await startProviderGateway();
  });
  after(() => gw.close());
  const post = (source: string, body: string, headers: Record<string, string>) =>
    fetch(`${gw.url}/webhooks/${source}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const count = async (source: string) => {
    const res = await fetch(`${gw.url}/api/events?source=${source}`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    return ((await res.json()) as { data: unknown[] }).data.length;
  };
  const discordSigned = (body: string, ts = nowS()) =>
    signDiscord({ privateKey: DISCORD_PRIVATE, body, timestamp: ts }, nodeSigner);

  test('discord: a signed PING is answered {"type":1} and not stored; its bad-signature probes get 401', async () => {
    const ping = '{"id":"1","application_id":"2","type":1,"token":"t","version":1}';
    const res = await post('discord', ping, discordSigned(ping));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(await res.text(), '{"type":1}');
    const ts = String(nowS());
    const probe = await post('discord', ping, {
      'x-signature-ed25519': independentDiscord().sign(ts, ping),
      'x-signature-timestamp': ts,
    });
    assert.equal(probe.status, 401);
    assert.equal(
      ((await probe.json()) as { error: { code: string } }).error.code,
      'signature_invalid',
    );
    const bare = await post('discord', ping, {});
    assert.equal(bare.status, 401);
    const stale = await post('discord', ping, discordSigned(ping, nowS() - 3600));
    assert.equal(
      ((await stale.json()) as { error: { code: string } }).error.code,
      'timestamp_out_of_tolerance',
    );
    assert.equal(await count('discord'), 0);
  });

  test('discord: an interaction is stored under its id and type; webhook-event PING gets 204', async () => {
    const body =
      '{"id":"1166","application_id":"2","type":2,"data":{"name":"deploy"},"token":"t","version":1}';
    const first = await post('discord', body, discordSigned(body));
    assert.equal(first.status, 200);
    assert.equal(((await first.json()) as { status: string }).status, 'received');
    const again = await post('discord', body, discordSigned(body));
    assert.equal(((await again.json()) as { status: string }).status, 'duplicate');
    const res = await fetch(`${gw.url}/api/events?source=discord`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    const [stored] = ((await res.json()) as { data: { event_id: string; type: string }[] }).data;
    assert.deepEqual([stored?.event_id, stored?.type], ['1166', 'application_command']);
    const eventPing =
      '{"version":1,"application_id":"2","type":0,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2026-01-01T00:00:00Z"}}';
    const pinged = await post('discord', eventPing, discordSigned(eventPing));
    assert.equal(pinged.status, 204);
    assert.equal(await pinged.text(), '');
  });

  test('zoom: endpoint.url_validation is answered with plainToken and encryptedToken; unsigned it is 401', async () => {
    const body = JSON.stringify({
      payload: { plainToken: 'qgg8vlvZRS6UYooatFL8Aw' },
      event_ts: Date.now(),
      event: 'endpoint.url_validation',
    });
    const headers = signZoom({ secret: SECRETS.zoom, body, timestamp: nowS() }, nodeSigner);
    const res = await post('zoom', body, headers);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
      encryptedToken: createHmac('sha256', SECRETS.zoom)
        .update('qgg8vlvZRS6UYooatFL8Aw')
        .digest('hex'),
    });
    const unsigned = await post('zoom', body, {});
    assert.equal(unsigned.status, 401);
    const noToken = JSON.stringify({ payload: {}, event: 'endpoint.url_validation' });
    const bad = await post(
      'zoom',
      noToken,
      signZoom({ secret: SECRETS.zoom, body: noToken, timestamp: nowS() }, nodeSigner),
    );
    assert.equal(bad.status, 400);
    assert.equal(await count('zoom'), 0);
  });

  test('zoom: an event is stored once (a retry is a duplicate); a stale one is refused', async () => {
    const body =
      '{"event":"meeting.ended","event_ts":1700000000123,"payload":{"object":{"id":851}}}';
    const sign = (ts = nowS()) =>
      signZoom({ secret: SECRETS.zoom, body, timestamp: ts }, nodeSigner);
    const first = await post('zoom', body, sign());
    assert.equal(((await first.json()) as { status: string }).status, 'received');
    const retry = await post('zoom', body, sign());
    assert.equal(((await retry.json()) as { status: string }).status, 'duplicate');
    const stale = await post('zoom', body, sign(nowS() - 301));
    assert.equal(stale.status, 401);
    assert.equal(
      ((await stale.json()) as { error: { code: string } }).error.code,
      'timestamp_out_of_tolerance',
    );
  });
});

describe('config: discord takes public_key, every other provider a secret', () => {
  const load = (source: string) => () =>
    parseConfigText(`storage: sqlite:./unused.db\nsources:\n  s: ${source}\n`, {
      PK: DISCORD_PUBLIC,
    });
  test('accepted: a public key, from the environment too; zoom with a secret', () => {
    load(`{ provider: discord, public_key: ${DISCORD_PUBLIC} }`)();
    load('{ provider: discord, public_key: "${PK}" }')();
    load(`{ provider: discord, public_key: [${DISCORD_PUBLIC}, ${'ab'.repeat(32)}] }`)();
    load('{ provider: zoom, secret: z }')();
  });
  test('refused with the key named', () => {
    const cases: [string, RegExp][] = [
      ['{ provider: discord, secret: x }', /sources\.s.*discord takes public_key, not secret/],
      ['{ provider: discord }', /discord takes public_key/],
      ['{ provider: discord, public_key: abc }', /discord: a public key is not 64 hex digits/],
      [
        `{ provider: stripe, secret: x, public_key: ${DISCORD_PUBLIC} }`,
        /only the discord provider takes public_key/,
      ],
      ['{ provider: zoom }', /give exactly one of secret or secrets/],
    ];
    for (const [source, message] of cases) assert.throws(load(source), message, source);
  });
});

describe('fuzz: discord and zoom never throw, and nothing random or one-byte-altered verifies', () => {
  const configs: VerifierOptions[] = [
    { provider: 'discord', publicKey: DISCORD_PUBLIC },
    { provider: 'zoom', secret: SECRETS.zoom },
  ];
  const names = [
    'x-signature-ed25519',
    'x-signature-timestamp',
    'x-zm-signature',
    'x-zm-request-timestamp',
  ];
  const value = fc.oneof(
    fc.string(),
    fc.stringMatching(/^(v0=)?[0-9a-fA-F]{0,130}$/),
    fc.stringMatching(/^\d{1,12}$/),
    fc.array(fc.string(), { maxLength: 3 }),
  );
  const headers = fc.dictionary(fc.constantFrom(...names), value);
  const body = fc.oneof(fc.string(), fc.uint8Array({ maxLength: 256 }));
  for (const build of BUILDS) {
    test(`random requests on ${build.name}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...configs), headers, body, async (options, h, b) => {
          const r = await build.verify(options, { body: b, headers: h });
          assert.equal(r.ok, false);
          assert.ok(['signature_invalid', 'timestamp_out_of_tolerance'].includes(r.error.code));
        }),
        { numRuns: 800 },
      );
    });
    test(`one altered byte of a genuine request on ${build.name}`, async () => {
      const ts = nowS();
      const genuine: [VerifierOptions, Record<string, string>][] = [
        [
          configs[0] as VerifierOptions,
          signDiscord({ privateKey: DISCORD_PRIVATE, body: BODY, timestamp: ts }, nodeSigner),
        ],
        [
          configs[1] as VerifierOptions,
          signZoom({ secret: SECRETS.zoom, body: BODY, timestamp: ts }, nodeSigner),
        ],
      ];
      for (const [options, h] of genuine)
        assert.equal((await build.verify(options, { body: BODY, headers: h })).ok, true);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...genuine),
          fc.nat(BODY.length - 1),
          fc.integer({ min: 1, max: 255 }),
          async ([options, h], at, xor) => {
            const bytes = new TextEncoder().encode(BODY);
            bytes[at] = (bytes[at] as number) ^ xor;
            const r = await build.verify(options, { body: bytes, headers: h });
            assert.equal(r.ok, false);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
