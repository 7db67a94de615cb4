// GET /api/openapi.json: the document passes a real OpenAPI 3.1 validator, every schema in it
// compiles as strict JSON Schema 2020-12, it lists exactly the /api routes the app registers
// (read from the route table and the hono app, not from a list written here), each documented
// path answers 405 for exactly the methods it does not document, and the checker every API
// test routes its calls through (test/helpers/openapi.ts) refuses what the document refuses.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { type ApiDeps, createApi } from '../../src/api/api.ts';
import { openApiDocument, openApiJson } from '../../src/api/openapi.ts';
import type { StreamHub } from '../../src/api/stream.ts';
import { createWebApp } from '../../src/http/web.ts';
import { API_TOKEN, SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import {
  type Answer,
  api,
  apiFetch,
  checkAnswer,
  checkStreamMessage,
  DOCUMENT,
  documentAjv,
  templateOf,
} from '../helpers/openapi.ts';
import { stripeHeaders } from '../helpers/sign.ts';
import { type Sink, startSink } from '../helpers/sink.ts';
import { openStream } from '../helpers/sse.ts';

const auth = { authorization: `Bearer ${API_TOKEN}` };
const METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const;

describe('the document', () => {
  test('is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)', async () => {
    const validator = new Validator();
    const result = await validator.validate(openApiDocument());
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1));
    assert.equal(validator.version, '3.1');
  });

  test('the validator is not vacuous: a broken document fails it', async () => {
    const broken = openApiDocument() as any;
    broken.paths['/api/events'].get.responses['200'].content = 'json';
    assert.equal((await new Validator().validate(broken)).valid, false);
    const badParameter = openApiDocument() as any;
    badParameter.paths['/api/events'].get.parameters[0].in = 'body'; // OpenAPI 2's, not 3.1's
    assert.equal((await new Validator().validate(badParameter)).valid, false);
  });

  test('every schema compiles as strict JSON Schema 2020-12', () => {
    const ajv = documentAjv();
    const refs: string[] = [];
    const esc = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');
    for (const name of Object.keys(DOCUMENT.components.schemas)) {
      refs.push(`components/schemas/${name}`);
    }
    for (const [path, item] of Object.entries<any>(DOCUMENT.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const base = `paths/${esc(path)}/${method}`;
        (op.parameters ?? []).forEach((_: unknown, i: number) =>
          refs.push(`${base}/parameters/${i}/schema`),
        );
        for (const [status, response] of Object.entries<any>(op.responses)) {
          for (const type of Object.keys(response.content ?? {})) {
            refs.push(`${base}/responses/${status}/content/${esc(type)}/schema`);
          }
        }
      }
    }
    for (const ref of refs) {
      assert.doesNotThrow(
        () => ajv.compile({ $ref: `https://hookyard.invalid/openapi.json#/${ref}` }),
        ref,
      );
    }
    assert.ok(refs.length > 40, `${refs.length} schemas`);
  });

  test('a bearer security scheme guards every operation', () => {
    assert.deepEqual(DOCUMENT.components.securitySchemes.bearer, {
      type: 'http',
      scheme: 'bearer',
      description: 'api.token of the gateway configuration',
    });
    assert.deepEqual(DOCUMENT.security, [{ bearer: [] }]);
    for (const item of Object.values<any>(DOCUMENT.paths)) {
      for (const op of Object.values<any>(item)) {
        assert.equal(op.security, undefined, `${op.operationId} does not override it`);
        assert.ok(op.responses['401'], `${op.operationId} lists 401`);
      }
    }
  });

  test('request parameters come from the zod schemas that validate them', () => {
    const list = DOCUMENT.paths['/api/events'].get.parameters.map((p: any) => p.name);
    assert.deepEqual(list, ['source', 'type', 'status', 'since', 'until', 'q', 'limit', 'cursor']);
    const body = DOCUMENT.components.schemas.BulkReplayRequest;
    assert.equal(body.additionalProperties, false);
    assert.deepEqual(body.properties.dry_run, {
      description: 'count only: true creates nothing',
      type: 'boolean',
    });
  });
});

/** The /api paths and methods the code registers: the API's route table and the hono app. */
function registeredRoutes(): Map<string, Set<string>> {
  const table = createApi({} as ApiDeps).routes;
  const app = createWebApp({
    api: createApi({} as ApiDeps),
    authorized: () => true,
    stream: {} as StreamHub,
    checkCursor: async () => undefined,
    onError: () => undefined,
  });
  const found = new Map<string, Set<string>>();
  const add = (path: string, method: string) => {
    if (!found.has(path)) found.set(path, new Set());
    found.get(path)?.add(method.toLowerCase());
  };
  for (const route of table) {
    // The table matches paths below /api; a documented template matches it when a sample of
    // it does, and exactly one must.
    const templates = Object.keys(DOCUMENT.paths).filter((t) =>
      route.path.test(t.slice(4).replaceAll('{id}', 'hye_sample1')),
    );
    assert.ok(templates.length <= 1, `${route.path} matches ${templates}`);
    const name = templates[0] ?? `(undocumented ${route.path})`;
    for (const method of route.methods) add(name, method);
  }
  for (const route of app.routes) {
    // The catch-alls that hand paths to the table (and /api itself, a 404) are not routes.
    if (!route.path.startsWith('/api/') || route.path.includes('*')) continue;
    add(route.path, route.method === 'ALL' ? 'get' : route.method);
  }
  return found;
}

describe('the document lists exactly the routes the app registers', () => {
  test('paths and methods, both ways', () => {
    const registered = registeredRoutes();
    const documented = new Map<string, Set<string>>();
    for (const [path, item] of Object.entries<any>(DOCUMENT.paths)) {
      documented.set(path, new Set(Object.keys(item)));
    }
    for (const [path, methods] of registered) {
      assert.ok(documented.has(path), `${path} is registered but not in the document`);
      assert.deepEqual(documented.get(path), methods, path);
    }
    for (const path of documented.keys()) {
      assert.ok(registered.has(path), `${path} is in the document but no route serves it`);
    }
    assert.ok(registered.size >= 11, `${registered.size} paths`);
  });
});

let gw: TestGateway;
let sink: Sink;
before(async () => {
  sink = await startSink();
  gw = await startTestGateway({
    extra: `destinations:\n  main: { url: "${sink.url}" }\nroutes:\n  - { source: stripe, to: main }\n`,
  });
});
after(async () => {
  await gw.close();
  await sink.close();
});

describe('GET /api/stream', () => {
  test('its event and delivery messages match the schemas the document names', async () => {
    const stream = await openStream(`${gw.url}/api/stream`, API_TOKEN);
    try {
      assert.equal(stream.status, 200);
      const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'charge.refunded' });
      assert.equal(
        (await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe))).status,
        200,
      );
      const seen = new Set<string>();
      while (!(seen.has('event') && seen.has('delivery'))) {
        const message = await stream.next();
        assert.ok(message, 'the stream ended');
        checkStreamMessage(message);
        seen.add(message.event);
      }
    } finally {
      stream.close();
    }
    assert.throws(
      () => checkStreamMessage({ event: 'event', id: '1', data: '{"id":"hye_1"}' }),
      assert.AssertionError,
    );
    assert.throws(() => checkStreamMessage({ event: 'other', data: '{}' }), assert.AssertionError);
  });
});

describe('GET /api/openapi.json', () => {
  test('serves the document as JSON, once built', async () => {
    const res = await api(gw, '/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), openApiDocument());
    assert.equal(openApiJson(), openApiJson(), 'the same text each time');
    const head = await apiFetch(`${gw.url}/api/openapi.json`, { method: 'HEAD', headers: auth });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('behind the token, strict about its query, body and method', async () => {
    const none = await apiFetch(`${gw.url}/api/openapi.json`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await api(gw, '/openapi.json', 'wrong')).status, 401);
    const query = await api(gw, '/openapi.json?format=yaml');
    assert.equal(query.status, 400);
    assert.deepEqual(((await query.json()) as any).error.param, 'format');
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await apiFetch(`${gw.url}/api/openapi.json`, {
        method,
        headers: auth,
        body: '{}',
      });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
    }
  });
});

describe('every documented path answers 405 for exactly the methods it does not list', () => {
  for (const [template, item] of Object.entries<any>(DOCUMENT.paths)) {
    test(template, async () => {
      const url = `${gw.url}${template.replaceAll('{id}', 'hye_nope')}`;
      for (const method of METHODS) {
        const documented = method in item;
        const controller = new AbortController();
        const res = await apiFetch(url, {
          method: method.toUpperCase(),
          headers: auth,
          ...(method !== 'get' && { body: '{}' }),
          signal: controller.signal,
        });
        if (documented) assert.notEqual(res.status, 405, `${method} ${template}`);
        else assert.equal(res.status, 405, `${method} ${template}`);
        controller.abort(); // the stream never ends by itself
        await res.body?.cancel().catch(() => undefined);
      }
    });
  }
});

describe('the checker refuses what the document refuses', () => {
  const good = (over: Partial<Answer> = {}): Answer => ({
    method: 'GET',
    url: '/api/events',
    status: 200,
    header: (name) => (name === 'content-type' ? 'application/json' : null),
    body: JSON.stringify({
      data: [
        {
          id: 'hye_1',
          source: 'stripe',
          event_id: 'evt_1',
          type: null,
          status: 'delivered',
          received_at: '2026-01-01T00:00:00.000Z',
          size: 2,
        },
      ],
      next_cursor: null,
    }),
    ...over,
  });

  test('a conforming answer passes', () => {
    checkAnswer(good());
  });

  const refused: [string, Partial<Answer>][] = [
    ['a renamed field', { body: good().body?.replace('event_id', 'eventId') }],
    ['a missing field', { body: good().body?.replace('"size":2', '"x":2') }],
    ['a wrong type', { body: good().body?.replace('"size":2', '"size":"2"') }],
    ['a status outside the enum', { body: good().body?.replace('delivered', 'sent') }],
    ['a time that is not date-time', { body: good().body?.replace('2026-01-01T', '2026-01-01 ') }],
    ['an undocumented status', { status: 418 }],
    ['another content type', { header: () => 'text/html' }],
    ['a body that is not JSON', { body: '<html>' }],
    [
      'an error code the route cannot give',
      { status: 404, body: '{"error":{"code":"not_found","message":"x"}}' },
    ],
    [
      'a 400 with a code of another status',
      { status: 400, body: '{"error":{"code":"not_found","message":"x"}}' },
    ],
    ['an undocumented path answering 200', { url: '/api/secret' }],
    [
      'an undocumented path answering 404 with a wrong code',
      { url: '/api/secret', status: 404, body: '{"error":{"code":"body_invalid","message":"x"}}' },
    ],
    ['an undocumented method answering 200', { method: 'DELETE' }],
    [
      'a 503 without Retry-After',
      { status: 503, body: '{"error":{"code":"storage_unavailable","message":"x"}}' },
    ],
  ];
  for (const [what, over] of refused) {
    test(`refused: ${what}`, () => {
      assert.throws(() => checkAnswer(good(over)), assert.AssertionError);
    });
  }

  test('path templates match raw segments only', () => {
    assert.equal(templateOf('/api/events/hye_1'), '/api/events/{id}');
    assert.equal(templateOf('/api/events/hye_1/replay'), '/api/events/{id}/replay');
    assert.equal(templateOf('/api/events/'), undefined);
    assert.equal(templateOf('/api/events/a/b'), undefined);
  });
});
