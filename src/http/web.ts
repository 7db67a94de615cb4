// Everything but webhooks, on hono (a router that can stream): the REST API, the live stream,
// the dashboard's files and the /metrics slot. /webhooks/* never comes here: it stays on
// node.ts's measured fast path. Mounted behind the same node:http listener (or on the admin
// listener, server.admin).
import { getRequestListener } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import type { ApiRequest } from '../api/api.ts';
import { eventJson } from '../api/events.ts';
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
}

const API_BODY_LIMIT = 1024 * 1024;
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

/** A stream filter: `source` exact, `type` a `*` glob, as GET /api/events takes them. */
function matcher(query: URLSearchParams): ((e: StreamEvent) => boolean) | string {
  for (const key of query.keys()) {
    if (!['source', 'type', 'after'].includes(key)) return `unknown query parameter ${key}`;
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

  app.get('/api/stream', async (c) => {
    if (!deps.authorized(c.req.header('authorization'))) return unauthorized(c);
    const query = new URL(c.req.url).searchParams;
    const match = matcher(query);
    if (typeof match === 'string') return toResponse(c, errorReply('query_invalid', match));
    const after = c.req.header('last-event-id') || query.get('after') || undefined;
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
      await pump(stream, deps.stream, match, after);
    });
    // When the stream ends (the gateway stops, or the client fell too far behind), the
    // connection goes with it: a stopping server must not wait on an idle keep-alive.
    response.headers.set('connection', 'close');
    return response;
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
      // fetch's Request carries no body on a GET; a body sent with one must not be ignored.
      const length = c.req.header('content-length');
      if (
        (c.req.method === 'GET' || c.req.method === 'HEAD') &&
        ((length !== undefined && length !== '0') || c.req.header('transfer-encoding'))
      )
        return toResponse(c, errorReply('body_invalid', 'GET takes no body'));
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

  // The slot the observability work fills (docs/spec.md §9).
  app.get('/metrics', (c) => toResponse(c, errorReply('not_found', 'metrics are not served yet')));

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

/** Writes what the hub hands over, in order, until the client goes away. */
async function pump(
  stream: SSEStreamingApi,
  hub: StreamHub,
  match: (e: StreamEvent) => boolean,
  after: string | undefined,
): Promise<void> {
  const queue: { event: string; id?: string; data: string }[] = [];
  let wake: (() => void) | undefined;
  let last: string | undefined = after;
  let overflow = false;
  let closed = false;
  const push = (m: { event: string; id?: string; data: string }) => {
    if (queue.length >= MAX_QUEUED) overflow = true;
    else queue.push(m);
    wake?.();
  };
  const unsubscribe = await hub.subscribe(
    {
      events(events) {
        for (const e of events) {
          // Never twice, even should a page overlap what was sent.
          if (last !== undefined && compareCursors(e.cursor, last) <= 0) continue;
          last = e.cursor;
          if (!match(e)) continue;
          push({ event: 'event', id: e.cursor, data: JSON.stringify(eventJson(e)) });
        }
      },
      delivery(outcome) {
        push({ event: 'delivery', data: JSON.stringify(outcome) });
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
  const keepalive = setInterval(() => {
    void stream.write(': ping\n\n').catch(() => undefined);
  }, KEEPALIVE_MS);
  try {
    while (!closed && !stream.aborted) {
      const next = queue.shift();
      if (next) {
        await stream.writeSSE(next);
        continue;
      }
      if (overflow) break; // too far behind: the client resumes with Last-Event-ID
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    clearInterval(keepalive);
    unsubscribe();
  }
}

/** The node:http listener for the hono app (hono's own Request/Response, not the globals). */
export function webListener(app: Hono) {
  return getRequestListener(app.fetch, { overrideGlobalObjects: false });
}
