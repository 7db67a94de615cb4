// The SSRF guard: every spelling of a link-local / metadata address is refused where the
// destination is built (config) and where the connection is made (the undici connector), and
// the connector is shown refusing real connections to real loopback sinks declared unsafe.
//
// No packet ever leaves loopback: the table rows are dialled through a connector bound to a
// Unix socket (undici's `socketPath`), so even a broken guard only reaches that socket; the
// sinks listen on 127.0.0.1 and [::1], and 0.0.0.0 / [::] are connected to loopback by Linux.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { buildConnector } from 'undici';
import { ConfigError, type DestinationConfig, parseConfigText } from '../../src/config.ts';
import { type AttemptOutcome, HttpDestination } from '../../src/delivery/http-destination.ts';
import {
  createSsrfGuard,
  ssrfGuard,
  UNSAFE_RANGES,
  unsafeAddress,
  unsafeUrl,
} from '../../src/ssrf.ts';
import type { Lease } from '../../src/store/contract.ts';

/** Every form of an unsafe destination host, as written in a config file. */
const REFUSED: string[] = [
  // 169.254.169.254 and the IPv4 spellings WHATWG URL normalises (decimal, hex, octal, short)
  'http://169.254.169.254/latest/meta-data/',
  'https://169.254.169.254/',
  'http://169.254.169.254./',
  'http://2852039166/',
  'http://0xA9FEA9FE/',
  'http://0251.0376.0251.0376/',
  'http://169.254.43518/',
  'http://169.254.1.1/',
  'http://169.254.170.2/', // AWS ECS task credentials
  // IPv4-mapped (::ffff:0:0/96), RFC 6145 translated (::ffff:0:0:0/96)
  'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:a9fe:a9fe]/',
  'http://[::FFFF:A9FE:A9FE]/',
  'http://[0:0:0:0:0:ffff:a9fe:a9fe]/',
  'http://[0000:0000:0000:0000:0000:FFFF:A9FE:A9FE]/',
  'http://[::ffff:0:a9fe:a9fe]/',
  // IPv4-compatible (::/96)
  'http://[::a9fe:a9fe]/',
  'http://[::169.254.169.254]/',
  'http://[0:0:0:0:0:0:A9FE:A9FE]/',
  // NAT64, well-known (64:ff9b::/96) and local-use (64:ff9b:1::/48, /96 and /48 layouts)
  'http://[64:ff9b::a9fe:a9fe]/',
  'http://[64:FF9B::169.254.169.254]/',
  'http://[0064:ff9b:0000:0000:0000:0000:a9fe:a9fe]/',
  'http://[64:ff9b:1::a9fe:a9fe]/',
  'http://[64:ff9b:1:a9fe:a9:fe00::]/',
  // 6to4 (2002::/16)
  'http://[2002:a9fe:a9fe::1]/',
  'http://[2002:A9FE:A9FE:0000:0000:0000:0000:0001]/',
  // Teredo (2001::/32): client 169.254.169.254 stored bit-inverted as 5601:5601
  'http://[2001:0:4136:e378:8000:63bf:5601:5601]/',
  'http://[2001:0000:4136:E378:8000:63BF:5601:5601]/',
  // IPv6 link-local
  'http://[fe80::1]/',
  'http://[FE80:0000:0000:0000:0000:0000:0000:0001]/',
  'http://[febf:ffff::1]/',
  // Metadata outside the link-local ranges, and their embedded forms
  'http://100.100.100.200/latest/meta-data/',
  'http://[::ffff:100.100.100.200]/',
  'http://[64:ff9b::6464:64c8]/',
  'http://168.63.129.16/',
  'http://192.0.0.192/',
  'http://[fd00:ec2::254]/',
  'http://[FD00:0EC2:0000:0000:0000:0000:0000:0254]/',
  'http://[fd00:ec2::23]/',
  'http://[fd20:ce::254]/',
  'http://[fd00:c1::a9fe:a9fe]/',
  'http://[fd00:100::100:200]/',
  'http://[fd00:42::42]/',
  'http://[fd00:a9fe:a9fe::1]/',
  // Unspecified: connecting to it reaches this host
  'http://0.0.0.0/',
  'http://0/',
  'http://0.1.2.3/',
  'http://[::]/',
  'http://[0:0:0:0:0:0:0:0]/',
  'http://[::ffff:0.0.0.0]/',
  // Metadata host names, any case, with one trailing dot
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://METADATA.Google.Internal./',
  'http://metadata.goog/',
  'http://metadata/',
  'http://metadata./',
  'http://instance-data/latest/meta-data/',
  'http://instance-data.ec2.internal./',
  'http://metadata.tencentyun.com/',
];

/** Local apps are the common destination: loopback, private and public stay allowed. */
const ALLOWED: string[] = [
  'http://127.0.0.1:3000/hooks',
  'http://localhost:3000/',
  'http://[::1]:3000/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:7f00:1]/',
  'http://10.0.0.1/',
  'http://172.16.0.1/',
  'http://192.168.1.1/',
  'http://100.64.0.1/', // shared address space, beside Alibaba's one address
  'http://[fd12:3456:789a::1]/', // unique-local, beside the metadata addresses
  'http://[fd00:ec3::254]/',
  'http://[::ffff:10.0.0.1]/',
  'http://[64:ff9b::808:808]/', // NAT64 of a public address
  'http://[2002:808:808::1]/',
  'http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/', // Teredo client 8.8.8.8
  'http://169.253.255.255/',
  'http://169.255.0.0/',
  'https://example.com/hooks',
  'http://metadata.google.internal.example.com/',
  'http://my-metadata/',
];

const base = 'sources:\n  s: { provider: github, secret: x }\n';
const destinationYaml = (url: string, extra = '') =>
  `${base}destinations:\n  m: { url: "${url}"${extra} }\n`;

/** The host as undici hands it to the connector: IPv6 without brackets. */
function connectTarget(url: URL): buildConnector.Options {
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { hostname, host: url.host, protocol: url.protocol, port: url.port };
}

function dial(connect: buildConnector.connector, url: URL): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    connect(connectTarget(url), (...result) => {
      result[1]?.destroy();
      resolve(result[0]);
    });
  });
}

describe('SSRF guard: address forms', () => {
  test('WHATWG URL normalises IPv4 spellings and rewrites embedded IPv4 to hex', () => {
    assert.equal(new URL('http://2852039166/').hostname, '169.254.169.254');
    assert.equal(new URL('http://0xA9FEA9FE/').hostname, '169.254.169.254');
    assert.equal(new URL('http://0251.0376.0251.0376/').hostname, '169.254.169.254');
    assert.equal(new URL('http://169.254.43518/').hostname, '169.254.169.254');
    // The form the old dotted-only check missed:
    assert.equal(new URL('http://[::ffff:169.254.169.254]/').hostname, '[::ffff:a9fe:a9fe]');
  });

  test('every form is refused at config time, naming the key; allow_unsafe_url lets it through', () => {
    for (const url of REFUSED) {
      assert.ok(unsafeUrl(new URL(url)), url);
      assert.throws(
        () => parseConfigText(destinationYaml(url), {}),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.code === 'config_invalid' &&
          error.message.startsWith('destinations.m.url: refused'),
        url,
      );
      const c = parseConfigText(destinationYaml(url, ', allow_unsafe_url: true'), {});
      assert.equal(c.destinations.get('m')?.allowUnsafeUrl, true, url);
    }
  });

  test('loopback, private and public destinations stay allowed', () => {
    for (const url of ALLOWED) {
      assert.equal(unsafeUrl(new URL(url)), undefined, url);
      assert.ok(parseConfigText(destinationYaml(url), {}).destinations.get('m'), url);
    }
  });

  test('addresses as DNS answers and sockets report them are checked the same way', () => {
    for (const url of REFUSED) {
      const host = connectTarget(new URL(url)).hostname;
      if (!/^[\d.]+$|:/.test(host)) continue; // a name: no address to check
      assert.ok(unsafeAddress(host), host);
    }
    // Forms a socket or a resolver reports and URL never produces:
    for (const a of [
      '::ffff:169.254.169.254',
      'fe80::1%eth0',
      '::ffff:0.0.0.0',
      '::169.254.169.254',
    ])
      assert.ok(unsafeAddress(a), a);
    for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.0.0.1', '8.8.8.8'])
      assert.equal(unsafeAddress(a), undefined, a);
  });

  test('every form is refused by the connector before a connection is made', async () => {
    // The connector dials a Unix socket whatever the host: a guard that let a form through
    // would show up as a connection here, never as a packet to a metadata service.
    const dir = mkdtempSync(join(tmpdir(), 'hookyard-ssrf-'));
    const path = join(dir, 'sink.sock');
    let connections = 0;
    const server = createNetServer((socket) => {
      connections++;
      socket.destroy();
    });
    server.listen(path);
    await once(server, 'listening');
    try {
      const connect = ssrfGuard.connector({ socketPath: path });
      for (const url of REFUSED.filter((u) => u.startsWith('http:'))) {
        const error = await dial(connect, new URL(url));
        assert.equal(error?.code, 'ERR_UNSAFE_DESTINATION', url);
        assert.equal(connections, 0, `${url} reached the socket`);
      }
      // The socket itself is reachable, so a zero above means refused, not unreachable.
      const error = await dial(connect, new URL('http://127.0.0.1/'));
      assert.equal(connections, 1);
      assert.equal(error?.code, 'ERR_UNSAFE_DESTINATION'); // a Unix peer has no IP address
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A real HTTP endpoint on one loopback address that counts connections and requests. */
async function startCountingSink(host: '127.0.0.1' | '::1') {
  const sink = { port: 0, connections: 0, requests: 0 };
  const server = createHttpServer((req, res) => {
    sink.requests++;
    req.resume();
    req.on('end', () => res.end('reached'));
  });
  server.on('connection', () => sink.connections++);
  server.listen(0, host);
  await once(server, 'listening');
  sink.port = (server.address() as AddressInfo).port;
  return {
    sink,
    reset() {
      sink.connections = 0;
      sink.requests = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function destination(url: string): DestinationConfig {
  return {
    name: 'm',
    url: new URL(url),
    timeoutMs: 5000,
    maxAttempts: 1,
    backoffBaseMs: 1000,
    backoffMaxMs: 1000,
    concurrency: 1,
    allowUnsafeUrl: false,
  };
}

const lease: Lease = {
  seq: 1,
  id: 'dlv_1',
  destination: 'm',
  attempt: 1,
  leaseUntil: Date.now() + 60_000,
  event: {
    id: 'evt_1',
    source: 's',
    type: null,
    headers: [],
    contentType: 'application/json',
    body: Buffer.from('{"ok":true}'),
  },
};

async function attempt(config: DestinationConfig, guard = ssrfGuard) {
  const d = new HttpDestination(config, guard);
  try {
    return await d.attempt(lease, new AbortController().signal);
  } finally {
    await d.close();
  }
}

/** The attempt's error, asserted to be the guard's refusal (its code comes first). */
function refusal(outcome: AttemptOutcome, url: string): string {
  const error = outcome.error ?? '';
  assert.ok(error.startsWith('ERR_UNSAFE_DESTINATION: '), `${url}: ${error}`);
  return error;
}

describe('SSRF guard: connect time, against real loopback sinks declared unsafe', () => {
  const STAND_IN = 'stand-in for a metadata address';
  const standIns = [
    { cidr: '127.0.0.0/8', why: STAND_IN },
    { cidr: '::1/128', why: STAND_IN },
  ];
  // The built-in list plus loopback: what the gateway does, with loopback playing metadata.
  const guard = createSsrfGuard([...UNSAFE_RANGES, ...standIns]);
  let v4: Awaited<ReturnType<typeof startCountingSink>>;
  let v6: Awaited<ReturnType<typeof startCountingSink>>;
  before(async () => {
    v4 = await startCountingSink('127.0.0.1');
    v6 = await startCountingSink('::1');
  });
  after(async () => {
    await v4.close();
    await v6.close();
  });

  const targets = () => [
    { url: `http://127.0.0.1:${v4.sink.port}/hooks`, sink: v4 },
    { url: `http://[::ffff:127.0.0.1]:${v4.sink.port}/hooks`, sink: v4 },
    { url: `http://[::ffff:7f00:1]:${v4.sink.port}/hooks`, sink: v4 },
    { url: `http://[::1]:${v6.sink.port}/hooks`, sink: v6 },
    // A name: refused on its DNS answer, before any connection.
    { url: `http://localhost:${v4.sink.port}/hooks`, sink: v4 },
  ];

  test('without the stand-ins every target reaches its sink (the refusals below are real)', async () => {
    for (const { url, sink } of targets()) {
      sink.reset();
      const outcome = await attempt(destination(url));
      assert.equal(outcome.statusCode, 200, `${url}: ${outcome.error}`);
      assert.equal(outcome.response, 'reached');
      assert.equal(sink.sink.requests, 1, url);
    }
  });

  test('with them, literals and names are refused at connect time and the sink sees nothing', async () => {
    for (const { url, sink } of targets()) {
      sink.reset();
      const outcome = await attempt(destination(url), guard);
      assert.equal(outcome.statusCode, undefined, url);
      assert.ok(refusal(outcome, url).includes(STAND_IN), outcome.error ?? ''); // the attempt log says why
      assert.equal(sink.sink.connections, 0, `${url}: connected`);
      assert.equal(sink.sink.requests, 0, url);
    }
  });

  test('the dialled address is checked: Linux connects 0.0.0.0 and [::] to loopback', async () => {
    // With the built-in list, unchanged: the address the socket ends up on (127.0.0.1, ::1)
    // is allowed, so only the check on the dialled host refuses these.
    for (const { url, sink } of [
      { url: `http://0.0.0.0:${v4.sink.port}/`, sink: v4 },
      { url: `http://[::]:${v6.sink.port}/`, sink: v6 },
    ]) {
      sink.reset();
      const outcome = await attempt(destination(url));
      refusal(outcome, url);
      assert.equal(sink.sink.connections, 0, url);
    }
  });

  test('the connected address is checked: a safe dialled host landing on an unsafe peer', async () => {
    // A list with loopback only: 0.0.0.0 / :: pass the dialled-host check, the kernel
    // connects them to 127.0.0.1 / ::1, and the peer check closes the socket before undici
    // writes the request. DNS rebinding ends the same way.
    const peerOnly = createSsrfGuard(standIns);
    for (const { url, sink } of [
      { url: `http://0.0.0.0:${v4.sink.port}/`, sink: v4 },
      { url: `http://[::]:${v6.sink.port}/`, sink: v6 },
    ]) {
      sink.reset();
      const outcome = await attempt(destination(url), peerOnly);
      assert.ok(refusal(outcome, url).includes(STAND_IN), outcome.error ?? ''); // says why
      assert.equal(sink.sink.requests, 0, url);
    }
  });

  test('allow_unsafe_url: true bypasses the guard at config and at connect time', async () => {
    const c = parseConfigText(
      destinationYaml(`http://0.0.0.0:${v4.sink.port}/hooks`, ', allow_unsafe_url: true'),
      {},
    );
    const config = c.destinations.get('m');
    assert.ok(config);
    v4.reset();
    const outcome = await attempt(config, guard);
    assert.equal(outcome.statusCode, 200, outcome.error ?? '');
    assert.equal(v4.sink.requests, 1);
  });
});
