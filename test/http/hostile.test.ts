// Every hostile request the outside attack found, against every way Hookyard receives
// webhooks: the CLI-started gateway and the library's node:http, Express, Fastify and fetch
// (Hono) adapters. One ingest core owns the checks, so each case must get the same status,
// code and refusal record everywhere, the process must stay up, and nothing may be stored
// but the one genuine event.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createHookyard, type Hookyard } from '../../src/index.ts';
import { engineOf } from '../../src/library.ts';
import { startServerProcess } from '../helpers/process.ts';
import { rawExchange } from '../helpers/raw.ts';
import { stripeHeaders } from '../helpers/sign.ts';

const SECRET = 'whsec_hostile_tests';
const TOKEN = 'hostile-api-token';
const BODY_LIMIT = 64 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'hookyard-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Harness {
  /** `http://host:port` */
  base: string;
  /** Events stored, by Hookyard id. */
  stored(): Promise<string[]>;
  /** Refusal records, newest first. */
  rejections(): Promise<{ source: string; code: string; name?: string }[]>;
  close(): Promise<void>;
}

function libraryDocument(name: string) {
  return {
    storage: `sqlite:${join(dir, `${name}.db`)}`,
    log_level: 'silent',
    server: { body_limit: BODY_LIMIT },
    sources: { stripe: { provider: 'stripe', secret: SECRET } },
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function fromYard(yard: Hookyard, base: string, stop: () => Promise<unknown>): Harness {
  return {
    base,
    stored: async () =>
      (await engineOf(yard).store.listEvents({ limit: 500 })).data.map((e) => e.id),
    rejections: async () => engineOf(yard).rejections.recent(),
    async close() {
      await stop();
      await yard.close();
    },
  };
}

const HARNESSES: Record<string, () => Promise<Harness>> = {
  async 'gateway (CLI)'() {
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `storage: sqlite:${join(dir, 'gateway.db')}\nserver: { port: 0, body_limit: ${BODY_LIMIT} }\n` +
        `api: { token: ${TOKEN} }\nlog_level: info\nsources:\n  stripe: { provider: stripe, secret: ${SECRET} }\n`,
    );
    const server = await startServerProcess(['serve', '--config', config]);
    const api = async (path: string) =>
      (await (
        await fetch(`${server.url}/api${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as any;
    return {
      base: server.url,
      stored: async () => (await api('/events?limit=500')).data.map((e: any) => e.id),
      rejections: async () => (await api('/rejections?limit=1000')).data,
      async close() {
        assert.equal(server.child.exitCode, null, `the gateway exited:\n${server.output()}`);
        await server.stop();
      },
    };
  },
  async 'library node:http'() {
    const yard = createHookyard(libraryDocument('node'));
    const server = createServer(yard.node());
    const base = await listen(server);
    return fromYard(yard, base, () => new Promise((r) => server.close(r)));
  },
  async 'library express'() {
    const yard = createHookyard(libraryDocument('express'));
    const app = express();
    app.use('/webhooks', yard.express());
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fromYard(yard, base, () => new Promise((r) => server.close(r)));
  },
  async 'library fastify'() {
    const yard = createHookyard(libraryDocument('fastify'));
    const app = Fastify();
    await app.register(yard.fastify(), { prefix: '/webhooks' });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    return fromYard(yard, base, () => app.close());
  },
  async 'library fetch (hono)'() {
    const yard = createHookyard(libraryDocument('hono'));
    const app = new Hono();
    app.all('/webhooks/*', (c) => yard.fetch(c.req.raw));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fromYard(yard, base, () => new Promise((r) => server.close(r)));
  },
};

/** A raw HTTP/1.1 request: exact bytes, repeated headers, paths fetch would normalise. */
function request(
  method: string,
  path: string,
  headers: [string, string][],
  body = '',
  options: { declare?: boolean } = {},
): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  if (options.declare !== false) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

function signed(body: string, timestamp?: number): [string, string][] {
  return Object.entries(stripeHeaders(body, SECRET, timestamp));
}

const stripeEvent = (id = `evt_${randomUUID()}`) =>
  JSON.stringify({ id, type: 'payment_intent.succeeded', data: { object: { id: 'pi_1' } } });

interface Case {
  name: string;
  writes: () => (string | Buffer | { pauseMs: number })[];
  status: number;
  code: string;
  /** The refusal's source key: the configured name, or every other name as one key. */
  source: 'stripe' | '(unknown)';
  check?: (response: string) => void;
  /** Where an adapter's framework answers before any plugin can run: what it answers. */
  framework?: Record<string, { status: number; code: string }>;
}

const CASES: Case[] = [
  {
    name: 'a malformed escape in the source name (URIError before)',
    writes: () => [request('POST', '/webhooks/%E0%A4%A', [], '')],
    status: 404,
    code: 'source_not_found',
    source: '(unknown)',
    // Fastify's router decodes the path before it picks a route, and answers a bad escape
    // with its own 400 (server option `frameworkErrors` changes that; no plugin can).
    framework: { 'library fastify': { status: 400, code: 'FST_ERR_BAD_URL' } },
  },
  {
    name: 'a 4 KB unknown source name: one key, the name cut short in the reply',
    writes: () => [request('POST', `/webhooks/${'x'.repeat(4096)}`, [], '{}')],
    status: 404,
    code: 'source_not_found',
    source: '(unknown)',
    check: (response) => assert.ok(!response.includes('x'.repeat(100)), 'the name is echoed whole'),
  },
  {
    name: 'GET',
    writes: () => [request('GET', '/webhooks/stripe', [], '', { declare: false })],
    status: 405,
    code: 'method_not_allowed',
    source: 'stripe',
    check: (response) => assert.match(response, /\r\nallow: POST\r\n/i),
  },
  {
    name: 'PUT with a body',
    writes: () => [request('PUT', '/webhooks/stripe', signed('{}'), '{}')],
    status: 405,
    code: 'method_not_allowed',
    source: 'stripe',
  },
  {
    name: 'DELETE',
    writes: () => [request('DELETE', '/webhooks/stripe', [], '', { declare: false })],
    status: 405,
    code: 'method_not_allowed',
    source: 'stripe',
  },
  {
    name: 'a declared body over the limit, refused before it is sent',
    writes: () => [
      request('POST', '/webhooks/stripe', [['Content-Type', 'application/json']], '', {
        declare: false,
      }).replace('\r\n\r\n', `\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`),
    ],
    status: 413,
    code: 'body_too_large',
    source: 'stripe',
  },
  {
    name: 'a chunked body that passes the limit while streaming',
    writes: () => {
      const chunk = 'a'.repeat(16 * 1024);
      const frame = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
      const head = request(
        'POST',
        '/webhooks/stripe',
        [
          ['Content-Type', 'application/json'],
          ['Transfer-Encoding', 'chunked'],
        ],
        '',
        { declare: false },
      );
      return [head, ...Array.from({ length: 6 }, () => frame)];
    },
    status: 413,
    code: 'body_too_large',
    source: 'stripe',
  },
  {
    name: 'the signature header sent twice (a second candidate smuggled in)',
    writes: () => {
      const body = stripeEvent();
      // Joined with ", " the two would parse as one header with two v1 candidates, one of
      // them genuine: a runtime that joins repeats must still see two headers.
      return [
        request(
          'POST',
          '/webhooks/stripe',
          [...signed(body), ['Stripe-Signature', `v1=${'0'.repeat(64)}`]],
          body,
        ),
      ];
    },
    status: 401,
    code: 'signature_invalid',
    source: 'stripe',
  },
  {
    name: 'a forged signature',
    writes: () => {
      const body = stripeEvent();
      return [
        request('POST', '/webhooks/stripe', Object.entries(stripeHeaders(body, 'whsec_x')), body),
      ];
    },
    status: 401,
    code: 'signature_invalid',
    source: 'stripe',
  },
  {
    name: 'a genuine signature ten minutes old',
    writes: () => {
      const body = stripeEvent();
      return [
        request(
          'POST',
          '/webhooks/stripe',
          signed(body, Math.floor(Date.now() / 1000) - 600),
          body,
        ),
      ];
    },
    status: 401,
    code: 'timestamp_out_of_tolerance',
    source: 'stripe',
  },
  {
    name: 'a genuine signature over a body that is not JSON',
    writes: () => [request('POST', '/webhooks/stripe', signed('{"id":'), '{"id":')],
    status: 400,
    code: 'payload_invalid',
    source: 'stripe',
  },
  {
    name: 'a genuine event whose id holds U+0000 (PostgreSQL cannot store it)',
    writes: () => {
      const body = stripeEvent('evt_\u0000x');
      return [request('POST', '/webhooks/stripe', signed(body), body)];
    },
    status: 400,
    code: 'payload_invalid',
    source: 'stripe',
  },
  {
    name: 'a genuine event whose id is a lone surrogate (would merge with another)',
    writes: () => {
      const body = stripeEvent('evt_\ud800');
      return [request('POST', '/webhooks/stripe', signed(body), body)];
    },
    status: 400,
    code: 'payload_invalid',
    source: 'stripe',
  },
];

for (const [adapter, start] of Object.entries(HARNESSES)) {
  describe(`hostile input: ${adapter}`, () => {
    let h: Harness;
    test('starts', async () => {
      h = await start();
    });

    for (const c of CASES) {
      test(`${c.name} → ${c.status} ${c.code}`, async () => {
        const before = (await h.rejections()).length;
        const ex = await rawExchange(h.base, c.writes());
        const framework = c.framework?.[adapter];
        if (framework) {
          assert.match(ex.response, new RegExp(`^HTTP/1\\.1 ${framework.status} `));
          assert.match(ex.response, new RegExp(`"code":"${framework.code}"`));
          assert.equal((await h.rejections()).length, before, 'not ours, not recorded');
          return;
        }
        assert.match(
          ex.response,
          new RegExp(`^HTTP/1\\.1 ${c.status} `),
          ex.response.slice(0, 300),
        );
        assert.match(ex.response, new RegExp(`"code":"${c.code}"`), ex.response.slice(0, 300));
        assert.match(ex.response, /content-type: application\/json/i);
        c.check?.(ex.response);
        const records = await h.rejections();
        assert.equal(records.length, Math.min(before + 1, 1000), 'one refusal recorded');
        assert.equal(records[0]?.code, c.code);
        assert.equal(records[0]?.source, c.source);
        if (c.source === '(unknown)') assert.ok((records[0]?.name ?? '').length <= 64);
      });
    }

    test('HEAD is refused with 405 and no body', async () => {
      const ex = await rawExchange(h.base, [
        request('HEAD', '/webhooks/stripe', [], '', { declare: false }),
      ]);
      assert.match(ex.response, /^HTTP\/1\.1 405 /);
      assert.match(ex.response, /\r\nallow: POST\r\n/i);
      assert.doesNotMatch(ex.response, /"code"/);
    });

    // Only the gateway owns its server: in a library app, Node answers CONNECT (README).
    if (adapter === 'gateway (CLI)')
      test('CONNECT is answered 405, never left hanging', async () => {
        const ex = await rawExchange(h.base, [
          'CONNECT 169.254.169.254:80 HTTP/1.1\r\nHost: 169.254.169.254:80\r\n\r\n',
        ]);
        assert.match(ex.response, /^HTTP\/1\.1 405 /);
        assert.match(ex.response, /"code":"method_not_allowed"/);
        assert.ok(ex.closedByServer);
      });

    test('alive afterwards; the genuine event alone is stored, once', async () => {
      const body = stripeEvent();
      const send = () =>
        fetch(`${h.base}/webhooks/stripe`, {
          method: 'POST',
          body,
          headers: stripeHeaders(body, SECRET),
        });
      const first = await send();
      assert.equal(first.status, 200);
      const { id, status } = (await first.json()) as { id: string; status: string };
      assert.equal(status, 'received');
      assert.equal(((await (await send()).json()) as { status: string }).status, 'duplicate');
      assert.deepEqual(await h.stored(), [id]);
    });

    test('stops', () => h.close());
  });
}
