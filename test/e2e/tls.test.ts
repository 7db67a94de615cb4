// HTTPS without a proxy: a self-signed certificate made by openssl, requests verified against
// it (never with verification off), and a renewal that swaps the files by rename while the
// same gateway keeps running — a broken pair on the way must not replace the working one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import Stripe from 'stripe';
import { ConfigError, parseConfigText } from '../../src/config.ts';
import { type Gateway, startGateway } from '../../src/gateway.ts';
import { API_TOKEN, SECRETS, SOURCES_YAML } from '../helpers/gateway.ts';

const stripe = new Stripe('sk_test_x');

interface Cert {
  cert: Buffer;
  key: Buffer;
  fingerprint: string;
}

const dir = mkdtempSync(join(tmpdir(), 'hookyard-tls-'));
const live = join(dir, 'live'); // what the config points at, as certbot's live/<name>/
const made = join(dir, 'made'); // where new certificates are made before they are swapped in
mkdirSync(live);
mkdirSync(made);
const certPath = join(live, 'cert.pem');
const keyPath = join(live, 'key.pem');

function makeCert(name: string): Cert {
  const cert = join(made, `${name}.crt`);
  const key = join(made, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=localhost/O=hookyard-test-${name}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'pipe' },
  );
  const pem = readFileSync(cert);
  return {
    cert: pem,
    key: readFileSync(key),
    fingerprint: new X509Certificate(pem).fingerprint256,
  };
}

/** As certbot and cert-manager do: write a temporary file beside it, rename it over. */
function swapIn(path: string, bytes: Buffer): void {
  const tmp = `${path}.${randomUUID()}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

const a = makeCert('a');
const b = makeCert('b');
const c = makeCert('c');
writeFileSync(certPath, a.cert);
writeFileSync(keyPath, a.key);

let gateway: Gateway;
/** The gateway's warnings and info lines, parsed. */
const lines: { msg: string; err?: string; fingerprint256?: string }[] = [];

const yaml = (cert: string, key: string) =>
  `storage: sqlite:${join(dir, 'hookyard.db')}
server: { host: 127.0.0.1, port: 0, header_timeout: 2s, tls: { cert: ${cert}, key: ${key} } }
${SOURCES_YAML}`;

before(async () => {
  // Paths relative to the working directory, as a config file beside them would have.
  const config = parseConfigText(
    yaml(relative(process.cwd(), certPath), relative(process.cwd(), keyPath)),
    {},
  );
  gateway = await startGateway(config, {
    logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
  });
});
after(async () => {
  await gateway.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: string;
  fingerprint: string;
}

/** One request on a new connection (no agent: a reused connection would keep its old
 * certificate), trusting only `ca`. */
function https(
  method: string,
  path: string,
  ca: Buffer | Buffer[],
  body?: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${gateway.url}${path}`, { method, ca, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          fingerprint,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function postStripe(ca: Buffer, id = `evt_${randomUUID()}`): Promise<Answer> {
  const payload = JSON.stringify({ id, object: 'event', type: 'payment_intent.succeeded' });
  const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: SECRETS.stripe });
  return https('POST', '/webhooks/stripe', ca, payload, {
    'content-type': 'application/json',
    'stripe-signature': signature,
  });
}

/** The certificate the server presents to a new connection; every test certificate is a
 * trusted CA here, so verification stays on and only the fingerprint tells them apart. */
function presented(): Promise<string> {
  const { port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port: Number(port), ca: [a.cert, b.cert, c.cert] },
      () => {
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        socket.end();
        resolve(fingerprint);
      },
    );
    socket.on('error', reject);
  });
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for the gateway's warning that a new pair was not applied, with this error code. */
async function refusedWith(code: string, from: number) {
  await until(() => lines.slice(from).some((l) => l.err === code), `a warning with ${code}`);
}

/** Every test connection is closed by now; one the server still holds would be a leak. */
async function noConnectionsLeft() {
  const count = () =>
    new Promise<number>((resolve, reject) =>
      gateway.server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
    );
  await until(async () => (await count()) === 0, 'the server to hold no connection', 5000);
}

const ids: string[] = [];

describe('HTTPS', () => {
  test('serves https:// with the configured certificate', async () => {
    assert.match(gateway.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const listening = lines.find((l) => l.msg.startsWith('hookyard listening on '));
    assert.equal(listening?.msg, `hookyard listening on ${gateway.url}`);
    assert.equal(await presented(), a.fingerprint);

    const id = `evt_${randomUUID()}`;
    const res = await postStripe(a.cert, id);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).status, 'received');
    assert.equal(res.fingerprint, a.fingerprint);
    ids.push(id);
  });

  test('a client that does not trust the certificate is refused by its own verification', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = request(`${gateway.url}/healthz`, { agent: false }, resolve);
        req.on('error', reject);
        req.end();
      }),
      (error: NodeJS.ErrnoException) => error.code === 'DEPTH_ZERO_SELF_SIGNED_CERT',
    );
  });

  test('plain HTTP on the HTTPS port gets no HTTP answer', async () => {
    const { port } = new URL(gateway.url);
    const reply = await new Promise<string>((resolve) => {
      const socket = netConnect(Number(port), '127.0.0.1', () =>
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString('latin1')));
      socket.on('close', () => resolve(data));
      socket.on('error', () => resolve(data));
    });
    assert.doesNotMatch(reply, /^HTTP\/1\.1 200/);
    await noConnectionsLeft();
  });

  test('a connection that never finishes the handshake is closed after header_timeout', async () => {
    const { port } = new URL(gateway.url);
    const started = Date.now();
    let closed = false;
    const socket = netConnect(Number(port), '127.0.0.1');
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    try {
      // header_timeout is 2 s; Node's own default would be 120 s.
      await until(() => closed, 'the server to close a connection without a handshake');
    } finally {
      socket.destroy();
    }
    assert.ok(Date.now() - started >= 1500, `closed after ${Date.now() - started} ms`);
    await noConnectionsLeft();
  });

  test('a renewed certificate is served without a restart', async () => {
    const server = gateway.server;
    let serverClosed = false;
    server.once('close', () => (serverClosed = true));

    // Certificate first, key second, each renamed in: for a moment the pair does not match.
    swapIn(certPath, b.cert);
    swapIn(keyPath, b.key);
    await until(async () => (await presented()) === b.fingerprint, 'the new certificate');

    const id = `evt_${randomUUID()}`;
    const res = await postStripe(b.cert, id);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).status, 'received');
    assert.equal(res.fingerprint, b.fingerprint);
    ids.push(id);
    // The old certificate is no longer presented to anyone.
    await assert.rejects(postStripe(a.cert));

    // The same process, server and store: the event from before the renewal is still listed.
    assert.equal(gateway.server, server);
    assert.ok(server.listening && !serverClosed);
    const listed = await https('GET', '/api/events?source=stripe', b.cert, undefined, {
      authorization: `Bearer ${API_TOKEN}`,
    });
    assert.equal(listed.status, 200);
    const eventIds = (JSON.parse(listed.body) as { data: { event_id: string }[] }).data.map(
      (e) => e.event_id,
    );
    assert.deepEqual(eventIds.sort(), [...ids].sort());
    assert.ok(lines.some((l) => l.msg === 'tls: certificate reloaded'));
  });

  test('a broken pair keeps the previous certificate serving, and the next change is tried again', async () => {
    // A truncated certificate (a half-written file).
    let from = lines.length;
    swapIn(certPath, c.cert.subarray(0, Math.floor(c.cert.length / 2)));
    await refusedWith('ERR_OSSL_PEM_BAD_END_LINE', from);
    assert.equal(await presented(), b.fingerprint);
    assert.equal((await postStripe(b.cert)).status, 200);

    // A whole certificate whose key is not there yet: the key on disk is b's.
    from = lines.length;
    swapIn(certPath, c.cert);
    await refusedWith('ERR_OSSL_X509_KEY_VALUES_MISMATCH', from);
    assert.equal(await presented(), b.fingerprint);
    assert.equal((await postStripe(b.cert)).status, 200);

    // The matching key arrives: the pair is whole and is applied.
    swapIn(keyPath, c.key);
    await until(async () => (await presented()) === c.fingerprint, 'the repaired pair');
    assert.equal((await postStripe(c.cert)).status, 200);
  });
});

describe('HTTPS start-up', () => {
  test('certificate files that cannot serve stop the start with a config error', async () => {
    const missing = parseConfigText(yaml(join(made, 'nope.crt'), keyPath), {});
    await assert.rejects(
      startGateway(missing, { logger: pino({ level: 'silent' }) }),
      (error: ConfigError) => error instanceof ConfigError && error.code === 'config_invalid',
    );
    const mismatched = parseConfigText(yaml(join(made, 'a.crt'), join(made, 'b.key')), {});
    await assert.rejects(
      startGateway(mismatched, { logger: pino({ level: 'silent' }) }),
      (error: ConfigError) => error instanceof ConfigError && error.code === 'config_invalid',
    );
  });
});
