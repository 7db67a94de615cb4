// GET /api/openapi.json (docs/spec.md §5): an OpenAPI 3.1 document of every /api route, built
// from the zod schemas that validate the requests and type the responses (schemas.ts), so the
// document cannot describe a parameter the routes do not read or a field they do not send.
// Built once, on first request; test/api/openapi.test.ts holds it to a real OpenAPI validator,
// to the routes the app registers, and every API response of the test suite to it.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.ts';
import {
  attemptJson,
  EVENT_ID_PATTERN,
  deliveryDetailJson,
  deliveryOutcomeJson,
  destinationsJson,
  errorJson,
  eventDetailJson,
  eventPageJson,
  eventSummaryJson,
  LISTENER_NAME_PATTERN,
  listEventsQuery,
  listenerAckBody,
  listenerAckJson,
  listenerJson,
  listenersJson,
  noQuery,
  rejectionsJson,
  rejectionsQuery,
  replayBulkBody,
  replayBulkJson,
  replayOneBody,
  replayOneJson,
  seriesJson,
  seriesQuery,
  statsJson,
  streamQuery,
} from './schemas.ts';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** The response schemas, by the name the document gives them. */
const RESPONSES: Record<string, z.ZodType> = {
  Event: eventSummaryJson,
  EventPage: eventPageJson,
  EventDetail: eventDetailJson,
  Delivery: deliveryDetailJson,
  Attempt: attemptJson,
  ReplayResult: replayOneJson,
  BulkReplayResult: replayBulkJson,
  Rejections: rejectionsJson,
  Destinations: destinationsJson,
  Series: seriesJson,
  Stats: statsJson,
  DeliveryOutcome: deliveryOutcomeJson,
  Listener: listenerJson,
  Listeners: listenersJson,
  ListenerAck: listenerAckJson,
  Error: errorJson,
};

/** The request bodies, as the client writes them (before transforms: `since` as text). */
const REQUESTS: Record<string, z.ZodType> = {
  ReplayRequest: replayOneBody,
  BulkReplayRequest: replayBulkBody,
  ListenerAckRequest: listenerAckBody,
};

/** One schema per name, nested registered schemas as `$ref`s to their components. */
function components(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Json {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const out = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas as Record<string, Json>;
  if (out.__shared) throw new Error('a schema of the API is shared but has no component name');
  // In a document, a schema's identity is its place under components, not its own $id.
  for (const schema of Object.values(out)) {
    delete schema.$id;
    delete schema.$schema;
  }
  return out;
}

/** Query parameters from a strict query schema, as the client sends them (text). */
function queryParameters(schema: z.ZodType): Json[] {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as {
    properties?: Record<string, Json>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, { description, ...rest }]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    ...(description !== undefined && { description }),
    schema: rest,
  }));
}

const idParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'the Hookyard id of the event (hye_…)',
  schema: { type: 'string', pattern: `^${EVENT_ID_PATTERN}$` },
};

/** A listener's name in a path. Named `id` like the event paths' parameter, so that one
 * template placeholder serves every path. */
const listenerParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: "the durable listener's name (hookyard listen --name)",
  schema: { type: 'string', pattern: `^${LISTENER_NAME_PATTERN}$` },
};

/** The error responses for the codes a route can answer, grouped by their status. */
function errorResponses(codes: readonly ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Json> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers: Json = {};
    if (list.includes('unauthorized')) {
      headers['WWW-Authenticate'] = { required: true, schema: { type: 'string', const: 'Bearer' } };
    }
    if (list.includes('storage_unavailable')) {
      headers['Retry-After'] = {
        description: 'seconds to wait before trying again',
        required: true,
        schema: { type: 'string', pattern: '^\\d+$' },
      };
    }
    out[String(status)] = {
      description: list.map((code) => `${code}: ${ERROR_CODES[code].when}`).join('. '),
      ...(Object.keys(headers).length > 0 && { headers }),
      content: {
        'application/json': {
          // The shared error body, with the code narrowed to those this answer can carry.
          schema: {
            allOf: [
              ref('Error'),
              {
                type: 'object',
                properties: {
                  error: {
                    type: 'object',
                    properties: { code: { type: 'string', enum: list } },
                  },
                },
              },
            ],
          },
        },
      },
    };
  }
  return out;
}

const json = (schema: Json, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** What every route can answer: a bad query (or a body sent with a GET), no token, a bug. */
const COMMON: ErrorCode[] = ['query_invalid', 'body_invalid', 'unauthorized', 'internal_error'];
/** What a route that reads the store adds. */
const STORE: ErrorCode[] = [...COMMON, 'storage_unavailable'];
/** What a POST adds: its body. */
const POST: ErrorCode[] = [...STORE, 'body_too_large'];

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  query: z.ZodType;
  /** The path's `{id}`: an event id (true), or another parameter. */
  id?: true | Json;
  headers?: Json[];
  body?: { name: string; required: boolean; description: string };
  ok: Record<string, Json>;
  errors: ErrorCode[];
}

const OPERATIONS: Record<string, Record<'get' | 'post', Operation | undefined>> = {
  '/api/events': {
    get: {
      operationId: 'listEvents',
      summary: 'List events, newest first, by filter and search',
      description:
        'Cursor paging: pass next_cursor as cursor for the next page; events that arrive meanwhile do not shift the pages.',
      query: listEventsQuery,
      ok: { 200: json(ref('EventPage'), 'a page of events') },
      errors: STORE,
    },
    post: undefined,
  },
  '/api/events/{id}': {
    get: {
      operationId: 'getEvent',
      summary: 'One event: headers, body, deliveries and their attempts',
      query: noQuery,
      id: true,
      ok: { 200: json(ref('EventDetail'), 'the event') },
      errors: [...STORE, 'not_found'],
    },
    post: undefined,
  },
  '/api/events/{id}/body': {
    get: {
      operationId: 'getEventBody',
      summary: 'The stored body, byte for byte',
      description:
        'Served with the content type it arrived with (application/octet-stream when none).',
      query: noQuery,
      id: true,
      ok: {
        200: {
          description: 'the bytes as received',
          content: { '*/*': { schema: { type: 'string', contentMediaType: '*/*' } } },
        },
      },
      errors: [...STORE, 'not_found'],
    },
    post: undefined,
  },
  '/api/events/{id}/replay': {
    get: undefined,
    post: {
      operationId: 'replayEvent',
      summary: 'Replay one event',
      query: noQuery,
      id: true,
      body: {
        name: 'ReplayRequest',
        required: false,
        description: 'an empty body replays to every destination the event went to',
      },
      ok: { 202: json(ref('ReplayResult'), 'deliveries created; workers send them') },
      errors: [...POST, 'not_found', 'destination_not_found'],
    },
  },
  '/api/replay': {
    get: undefined,
    post: {
      operationId: 'replayEvents',
      summary: 'Replay every event a filter matches (dry_run counts first)',
      description:
        'The filters of GET /api/events. since and until are ISO 8601 text or Unix seconds. An unknown key or a wrongly typed value is 400 body_invalid and replays nothing.',
      query: noQuery,
      body: { name: 'BulkReplayRequest', required: true, description: 'at least {}' },
      ok: {
        200: json(
          {
            allOf: [
              ref('BulkReplayResult'),
              { type: 'object', properties: { dry_run: { type: 'boolean', const: true } } },
            ],
          },
          'dry run: what a real run would create; nothing was created',
        ),
        202: json(
          {
            allOf: [
              ref('BulkReplayResult'),
              { type: 'object', properties: { dry_run: { type: 'boolean', const: false } } },
            ],
          },
          'deliveries created; workers send them',
        ),
      },
      errors: [...POST, 'destination_not_found'],
    },
  },
  '/api/rejections': {
    get: {
      operationId: 'listRejections',
      summary: 'Requests the webhook endpoints refused, newest first',
      query: rejectionsQuery,
      ok: { 200: json(ref('Rejections'), 'recent refusals and counts since start') },
      errors: COMMON,
    },
    post: undefined,
  },
  '/api/destinations': {
    get: {
      operationId: 'listDestinations',
      summary: "Every destination's health: queue, recent outcomes, last error",
      query: noQuery,
      ok: { 200: json(ref('Destinations'), 'one entry per configured destination') },
      errors: STORE,
    },
    post: undefined,
  },
  '/api/series': {
    get: {
      operationId: 'getSeries',
      summary: 'Events received, delivered and failed per time bucket',
      query: seriesQuery,
      ok: { 200: json(ref('Series'), 'the buckets of the window') },
      errors: STORE,
    },
    post: undefined,
  },
  '/api/stats': {
    get: {
      operationId: 'getStats',
      summary: 'Process counters: commits, memory, rejections',
      query: noQuery,
      ok: { 200: json(ref('Stats'), 'the counters') },
      errors: COMMON,
    },
    post: undefined,
  },
  '/api/listeners': {
    get: {
      operationId: 'listListeners',
      summary: 'Durable listeners (hookyard listen --name) and how far behind each is',
      query: noQuery,
      ok: { 200: json(ref('Listeners'), 'every listener, by name') },
      errors: STORE,
    },
    post: undefined,
  },
  '/api/listeners/{id}': {
    get: {
      operationId: 'getListener',
      summary: 'One durable listener and how far behind it is',
      query: noQuery,
      id: listenerParameter,
      ok: { 200: json(ref('Listener'), 'the listener') },
      errors: [...STORE, 'not_found'],
    },
    post: undefined,
  },
  '/api/listeners/{id}/ack': {
    get: undefined,
    post: {
      operationId: 'ackListener',
      summary: "Moves a listener's cursor forward to an event its local app answered 2xx for",
      description:
        'Creates the listener when new. The cursor never moves back: an older cursor (from a listener of the same name that another has taken over from) leaves it where it is, and the answer shows where it is. A cursor no stream gave out (malformed, or past the head) is 400 body_invalid.',
      query: noQuery,
      id: listenerParameter,
      body: { name: 'ListenerAckRequest', required: true, description: 'the cursor' },
      ok: { 200: json(ref('ListenerAck'), 'the listener as stored now') },
      errors: POST,
    },
  },
  '/api/stream': {
    get: {
      operationId: 'streamEvents',
      summary: 'Live stream of stored events and delivery outcomes (Server-Sent Events)',
      description: [
        'Each stored event is sent once, in cursor order, as `event: event` with `id: <cursor>` and `data:` an Event (#/components/schemas/Event).',
        'Delivery outcomes follow as `event: delivery` (no id) with `data:` a DeliveryOutcome (#/components/schemas/DeliveryOutcome).',
        'Reconnect with Last-Event-ID (or ?after=) to resume with no gap and no repeat, also after a restart.',
        'With ?listener= and neither, it resumes after the cursor the durable listener last acknowledged (POST /api/listeners/{id}/ack); a newer stream of the same listener takes over, and the older one ends with `event: takeover`.',
        'A comment line is sent every 15 s; the server ends the stream when it stops or the client falls too far behind.',
      ].join(' '),
      query: streamQuery,
      headers: [
        {
          name: 'Last-Event-ID',
          in: 'header',
          required: false,
          description: 'the id of the last message received; wins over ?after=',
          schema: { type: 'string' },
        },
      ],
      ok: {
        200: {
          description: 'an endless text/event-stream',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
      },
      errors: ['query_invalid', 'unauthorized', 'storage_unavailable', 'internal_error'],
    },
    post: undefined,
  },
  '/api/openapi.json': {
    get: {
      operationId: 'getOpenApi',
      summary: 'This document',
      query: noQuery,
      ok: { 200: json({ type: 'object' }, 'an OpenAPI 3.1 document') },
      errors: COMMON,
    },
    post: undefined,
  },
};

function operation(op: Operation): Json {
  const path = op.id === true ? [idParameter] : op.id ? [op.id] : [];
  const parameters = [...path, ...queryParameters(op.query)];
  parameters.push(...(op.headers ?? []));
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description !== undefined && { description: op.description }),
    ...(parameters.length > 0 && { parameters }),
    ...(op.body && {
      requestBody: {
        required: op.body.required,
        description: op.body.description,
        content: { 'application/json': { schema: ref(op.body.name) } },
      },
    }),
    responses: { ...op.ok, ...errorResponses(op.errors) },
  };
}

function version(): string {
  try {
    const url = new URL('../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The document as an object, a new one each call (nothing in it is shared with the next). */
export function openApiDocument(): Json {
  const paths: Json = {};
  for (const [path, methods] of Object.entries(OPERATIONS)) {
    const item: Json = {};
    for (const method of ['get', 'post'] as const) {
      const op = methods[method];
      if (op) item[method] = operation(op);
    }
    paths[path] = item;
  }
  return structuredClone({
    openapi: '3.1.1',
    info: {
      title: 'Hookyard API',
      version: version(),
      description:
        'The REST API of a Hookyard webhook gateway. JSON is snake_case. Every error is {"error":{"code","message"}} with a stable code (and error.param for query_invalid and body_invalid); a path that exists answers other methods with 405 method_not_allowed and an Allow header, an unknown path 404 not_found. HEAD is answered as GET without a body.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'api.token of the gateway configuration',
        },
      },
      schemas: { ...components(RESPONSES, 'output'), ...components(REQUESTS, 'input') },
    },
  });
}

let text: string | undefined;

/** The document as served: serialised once, on first use. */
export function openApiJson(): string {
  text ??= JSON.stringify(openApiDocument());
  return text;
}
