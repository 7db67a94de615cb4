// Everything but webhooks, on hono (a router that can stream): the REST API, the live stream,
// the dashboard's files and the /metrics slot. /webhooks/* never comes here: it stays on
// node.ts's measured fast path. Mounted behind the same node:http listener (or on the admin
// listener, server.admin).
import { getRequestListener } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { type ApiRequest, invalid } from '../api/api.ts';
import { eventJson } from '../api/events.ts';
import { openApiJson } from '../api/openapi.ts';
import { LISTENER_NAME_PATTERN, noQuery, parseQuery } from '../api/schemas.ts';
import { compareCursors, type StreamHub, type StreamEvent } from '../api/stream.ts';
import { errorReply, type Reply } from '../errors.ts';

export interface WebApp {
  api(req: ApiRequest): Promise<Reply>;
  /** The bearer token check the API uses. */
  authorized(header: string | undefined): boolean;
  /** The stream's hub, and a cursor check (RangeError when malformed; the store's errors). */
  stream: StreamHub;
  checkCursor(cursor: string): Promise<void>;
  onError(error: unknown): void;
  /** GET /metrics (src/metrics/): absent when `metrics.enabled` is false. `public`: served
   * without the token. */
  metrics?: { public: boolean; contentType: string; scrape(): Promise<string> };
}

const API_BODY_LIMIT = 1024 * 1024;
const LISTENER_NAME = new RegExp(`^${LISTENER_NAME_PATTERN}$`);
/** A comment line this often keeps proxies from closing an idle stream (docs/spec.md §5). */
const KEEPALIVE_MS = 15_000;
/** A subscriber with this many events not yet written is dropped; it resumes with its cursor. */
const MAX_QUEUED = 10_000;

function toResponse(c: Context, reply: Reply): Response {
  const body = typeof reply.body === 'string' ? reply.body : new Uint8Array(reply.body);
  return c.body(body as never, reply.status as never, reply.headers);
}

function unauthorized(c: Context): Response {
  return toResponse(
    c,
    errorReply('unauthorized', 'a valid bearer token is needed', { 'www-authenticate': 'Bearer' }),
  );
}

/** Whether a GET or HEAD came with a body: fetch's Request carries none, so a body sent with
 * one would be silently ignored; it is refused instead. */
function getWithBody(c: Context): boolean {
  const length = c.req.header('content-length');
  return (
    (c.req.method === 'GET' || c.req.method === 'HEAD') &&
    ((length !== undefined && length !== '0') || Boolean(c.req.header('transfer-encoding')))
  );
}

/** 405 for a path that takes only GET (and HEAD, which hono answers with the GET route). */
function getOnly(c: Context): Response {
  const path = new URL(c.req.url).pathname;
  return toResponse(
    c,
    errorReply('method_not_allowed', `${c.req.method} is not allowed on ${path}`, {
      allow: 'GET, HEAD',
    }),
  );
}

/** A stream filter: `source` exact, `type` a `*` glob, as GET /api/events takes them. */
function matcher(query: URLSearchParams): ((e: StreamEvent) => boolean) | string {
  for (const key of query.keys()) {
    if (!['source', 'type', 'after', 'listener'].includes(key)) {
      return `unknown query parameter ${key}`;
    }
  }
  const source = query.get('source') || undefined;
  const type = query.get('type') || undefined;
  const glob = type
    ? new RegExp(`^${type.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
    : undefined;
  return (e) =>
    (!source || e.source === source) && (!glob || (e.type !== null && glob.test(e.type)));
}

export function createWebApp(deps: WebApp): Hono {
  const app = new Hono();
  /** The open stream of each durable listener (GET /api/stream?listener=), to take over. */
  const takeovers = new Map<string, AbortController>();

  app.get('/api/stream', async (c) => {
    if (!deps.authorized(c.req.header('authorization'))) return unauthorized(c);
    const query = new URL(c.req.url).searchParams;
    const match = matcher(query);
    if (typeof match === 'string') return toResponse(c, errorReply('query_invalid', match));
    let after = c.req.header('last-event-id') || query.get('after') || undefined;
    const listener = query.get('listener');
    if (listener !== null && !LISTENER_NAME.test(listener)) {
      return toResponse(c, errorReply('query_invalid', 'listener is not a listener name'));
    }
    if (after === undefined && listener !== null) {
      // A durable listener (hookyard listen --name) resumes where its local app got to.
      try {
        after = await deps.stream.listenerCursor(listener);
      } catch {
        return toResponse(
          c,
          errorReply('storage_unavailable', 'the store cannot be reached', { 'retry-after': '5' }),
        );
      }
    }
    if (after !== undefined) {
      try {
        await deps.checkCursor(after);
      } catch (error) {
        if (error instanceof RangeError)
          return toResponse(c, errorReply('query_invalid', 'Last-Event-ID is not a cursor'));
        return toResponse(
          c,
          errorReply('storage_unavailable', 'the store cannot be reached', { 'retry-after': '5' }),
        );
      }
    }
    c.header('x-accel-buffering', 'no'); // nginx: do not buffer the stream
    const response = streamSSE(c, async (stream) => {
      await stream.write(': hookyard stream\n\n'); // headers and a first byte at once
      // A second stream of one durable listener takes over: the older one (in this process)
      // ends with `event: takeover`, and its listen stops.
      const controller = listener === null ? undefined : new AbortController();
      if (listener !== null && controller) {
        takeovers.get(listener)?.abort();
        takeovers.set(listener, controller);
      }
      try {
        await pump(
          stream,
          deps.stream,
          query.has('source') || query.has('type') ? match : undefined,
          after,
          controller?.signal,
        );
      } finally {
        if (listener !== null && takeovers.get(listener) === controller) takeovers.delete(listener);
      }
    });
    // When the stream ends (the gateway stops, or the client fell too far behind), the
    // connection goes with it: a stopping server must not wait on an idle keep-alive.
    response.headers.set('connection', 'close');
    return response;
  });
  app.all('/api/stream', (c) =>
    deps.authorized(c.req.header('authorization')) ? getOnly(c) : unauthorized(c),
  );

  // The API's own description (docs/spec.md §5, src/api/openapi.ts). Behind the token like the
  // rest of /api, although Stripe and GitHub publish theirs openly: theirs describe one public
  // service, while this listener is an operator's admin surface, and everywhere else /api says
  // 401 before it reveals which routes exist. The document holds nothing from the config, so
  // a client generator can as well be given a copy saved once with the token (README).
  app.all('/api/openapi.json', (c) => {
    if (!deps.authorized(c.req.header('authorization'))) return unauthorized(c);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return getOnly(c);
    if (getWithBody(c)) return toResponse(c, errorReply('body_invalid', 'GET takes no body'));
    const query = parseQuery(noQuery, new URL(c.req.url).searchParams);
    if (!query.ok) return toResponse(c, invalid('query_invalid', query));
    return c.body(openApiJson(), 200, { 'content-type': 'application/json' });
  });

  app.all(
    '/api/*',
    async (c, next) => {
      // The token before the body: an unauthenticated sender cannot make us read one.
      if (!deps.authorized(c.req.header('authorization'))) return unauthorized(c);
      await next();
    },
    bodyLimit({
      maxSize: API_BODY_LIMIT,
      onError: (c) => toResponse(c, errorReply('body_too_large', 'API bodies are at most 1 MiB')),
    }),
    async (c) => {
      const url = new URL(c.req.url);
      if (getWithBody(c)) return toResponse(c, errorReply('body_invalid', 'GET takes no body'));
      const reply = await deps.api({
        method: c.req.method,
        path: url.pathname.slice(4),
        query: url.searchParams,
        authorization: c.req.header('authorization'),
        body: await c.req.text(),
      });
      return toResponse(c, reply);
    },
  );
  // /api itself (no slash) is a path the table knows nothing of.
  app.all('/api', (c) =>
    deps.authorized(c.req.header('authorization'))
      ? toResponse(c, errorReply('not_found', 'no route /api'))
      : unauthorized(c),
  );

  // Prometheus metrics (docs/spec.md §9): behind the API token unless metrics.public.
  app.get('/metrics', async (c) => {
    const metrics = deps.metrics;
    if (!metrics) return toResponse(c, errorReply('not_found', 'metrics are turned off'));
    if (!metrics.public && !deps.authorized(c.req.header('authorization'))) return unauthorized(c);
    return c.body(await metrics.scrape(), 200, {
      'content-type': metrics.contentType,
      'cache-control': 'no-store',
    });
  });

  app.all('*', (c) =>
    toResponse(
      c,
      errorReply('not_found', `no route ${c.req.method} ${new URL(c.req.url).pathname}`),
    ),
  );

  app.onError((error, c) => {
    deps.onError(error);
    return toResponse(c, errorReply('internal_error', 'internal error'));
  });
  return app;
}

/** Each stored event's SSE message, made once however many streams send it: the hub hands
 * the same objects to every subscriber. And a whole page's messages as bytes, made once for
 * every unfiltered stream: the hub hands live subscribers the same array. Measured with 100
 * subscribers (bench/api): a stringify, an encode and a write per event per stream held ingest
 * to 0.25× of no subscribers. */
const frames = new WeakMap<StreamEvent, string>();
const pages = new WeakMap<readonly StreamEvent[], Uint8Array>();
function eventFrame(e: StreamEvent): string {
  let frame = frames.get(e);
  if (frame === undefined) {
    frame = `event: event\nid: ${e.cursor}\ndata: ${JSON.stringify(eventJson(e))}\n\n`;
    frames.set(e, frame);
  }
  return frame;
}
function pageBytes(events: readonly StreamEvent[]): Uint8Array {
  let bytes = pages.get(events);
  if (bytes === undefined) {
    bytes = Buffer.from(events.map(eventFrame).join(''));
    pages.set(events, bytes);
  }
  return bytes;
}

/** Writes what the hub hands over, in order, until the client goes away: whatever queued up
 * while the last write was under way goes out as one write. `match` undefined: every event. */
async function pump(
  stream: SSEStreamingApi,
  hub: StreamHub,
  match: ((e: StreamEvent) => boolean) | undefined,
  after: string | undefined,
  takenOver?: AbortSignal,
): Promise<void> {
  let queue: Uint8Array[] = [];
  /** Messages queued (a page counts as its events), against MAX_QUEUED. */
  let queued = 0;
  let wake: (() => void) | undefined;
  let last: string | undefined = after;
  let overflow = false;
  let closed = false;
  const push = (bytes: Uint8Array, messages: number) => {
    if (queued >= MAX_QUEUED) overflow = true;
    else {
      queue.push(bytes);
      queued += messages;
    }
    wake?.();
  };
  const unsubscribe = await hub.subscribe(
    {
      events(events) {
        const end = events.at(-1);
        if (!end) return;
        // Never twice, even should a page overlap what was sent. Pages are in cursor order,
        // so when the first is new, all are.
        const first = (events[0] as StreamEvent).cursor;
        const overlap = last !== undefined && compareCursors(first, last) <= 0;
        if (!overlap && !match) push(pageBytes(events), events.length);
        else {
          const fresh = events.filter(
            (e) =>
              (!overlap || compareCursors(e.cursor, last as string) > 0) && (!match || match(e)),
          );
          if (fresh.length) push(Buffer.from(fresh.map(eventFrame).join('')), fresh.length);
        }
        if (last === undefined || compareCursors(end.cursor, last) > 0) last = end.cursor;
      },
      delivery(outcome) {
        push(Buffer.from(`event: delivery\ndata: ${JSON.stringify(outcome)}\n\n`), 1);
      },
      end() {
        closed = true;
        wake?.();
      },
    },
    after,
  );
  stream.onAbort(() => {
    closed = true;
    wake?.();
  });
  const takeover = () => {
    closed = true;
    wake?.();
  };
  takenOver?.addEventListener('abort', takeover, { once: true });
  const keepalive = setInterval(() => {
    void stream.write(': ping\n\n').catch(() => undefined);
  }, KEEPALIVE_MS);
  try {
    while (!closed && !stream.aborted) {
      if (queue.length) {
        const chunk = queue.length === 1 ? (queue[0] as Uint8Array) : Buffer.concat(queue);
        queue = [];
        queued = 0;
        await stream.write(chunk);
        continue;
      }
      if (overflow) break; // too far behind: the client resumes with Last-Event-ID
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    // Told, so that it stops rather than reconnects and takes the stream back.
    if (takenOver?.aborted && !stream.aborted) {
      await stream.write('event: takeover\ndata: {}\n\n').catch(() => undefined);
    }
  } finally {
    takenOver?.removeEventListener('abort', takeover);
    clearInterval(keepalive);
    unsubscribe();
  }
}

/** The node:http listener for the hono app (hono's own Request/Response, not the globals). */
export function webListener(app: Hono) {
  return getRequestListener(app.fetch, { overrideGlobalObjects: false });
}
