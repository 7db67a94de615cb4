// The node:http adapter: reads the raw body (enforcing the limit while streaming), hands it
// to ingest or the API, and writes the Reply. It owns nothing but HTTP.
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorReply, jsonReply, type Reply } from '../errors.ts';
import type { Exchange, Ingest, Outcome } from '../ingest/ingest.ts';
import { dashboardReply } from './dashboard.ts';
import { streamReader } from './read-stream.ts';

export interface HttpApp {
  ingest: Ingest;
  /** Everything but webhooks and the probes: the API, stream and dashboard (web.ts, hono). */
  web(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** What this listener serves (server.admin splits them): everything; the public side of
   * two listeners, only /webhooks/* and /healthz; or the admin side, all but webhooks. */
  serves: 'all' | 'public' | 'admin';
  ready(): Promise<boolean>;
  onError(error: unknown): void;
}

const WEBHOOKS = '/webhooks/';

export function send(res: ServerResponse, reply: Reply, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { ...reply.headers };
  headers['content-length'] =
    typeof reply.body === 'string' ? Buffer.byteLength(reply.body) : reply.body.length;
  // Refusing a body we have not read: close, so the client cannot keep sending it to us.
  if (close) headers.connection = 'close';
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

/** Sources whose body is being read, for the request-timeout reply in `onClientError`. */
const reading = new WeakMap<Socket, string>();

/**
 * One webhook request on node:http (and Express, whose req/res are node's): the adapter only
 * reads headers and body and sends the reply; every check is ingest's. `source` is the URL
 * segment (percent-encoded) unless `named`. `preRead` is a body another middleware already
 * read as raw bytes (Express's `express.raw()`).
 */
export async function handleWebhook(
  ingest: Ingest,
  req: IncomingMessage,
  res: ServerResponse,
  source: { segment: string } | { name: string },
  preRead?: Uint8Array,
): Promise<void> {
  const named = 'name' in source;
  const exchange: Exchange = {
    method: req.method ?? 'GET',
    source: named ? source.name : source.segment,
    encoded: !named,
    rawHeaders: req.rawHeaders,
    remoteAddress: req.socket.remoteAddress ?? null,
    readBody: streamReader(req, preRead),
  };
  reading.set(req.socket, exchange.source);
  let outcome: Outcome | undefined;
  try {
    outcome = await ingest.receive(exchange);
  } finally {
    reading.delete(req.socket);
  }
  if (outcome) send(res, outcome.reply, outcome.close);
}

export function createRequestListener(app: HttpApp) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let work: Promise<void> | undefined;
    const webhook = path.startsWith(WEBHOOKS);
    if (
      app.serves === 'public' ? !webhook && path !== '/healthz' : webhook && app.serves === 'admin'
    ) {
      const where = app.serves === 'public' ? 'the admin listener' : 'the public listener';
      send(
        res,
        errorReply('not_found', `no route ${req.method} ${path} here (see ${where})`),
        true,
      );
    } else if (webhook && path.indexOf('/', WEBHOOKS.length) < 0) {
      work = handleWebhook(app.ingest, req, res, { segment: path.slice(WEBHOOKS.length) });
    } else if (path === '/healthz') {
      send(res, jsonReply(200, { status: 'ok' }));
    } else if (path === '/readyz') {
      work = app.ready().then((ok) =>
        send(
          res,
          ok
            ? jsonReply(200, { status: 'ready' })
            : errorReply('storage_unavailable', 'the store cannot be reached', {
                'retry-after': '5',
              }),
        ),
      );
    } else if (path === '/api' || path.startsWith('/api/') || path === '/metrics') {
      // The API, the stream and metrics: hono (web.ts).
      work = app.web(req, res);
    } else {
      // The dashboard's files, and the 404 for anything else, with its security headers.
      const method = req.method ?? 'GET';
      const acceptEncoding = req.headers['accept-encoding'];
      // A body sent to a page is not read: close rather than let it arrive.
      work = dashboardReply({ method, path, acceptEncoding }).then((reply) =>
        send(res, reply, method !== 'GET' && method !== 'HEAD'),
      );
    }
    if (work) {
      work.catch((error: unknown) => {
        app.onError(error);
        send(res, errorReply('internal_error', 'internal error'), true);
      });
    }
  };
}

/**
 * Replies to connection-level errors Node raises before a handler can: a request that is
 * still arriving when server.request_timeout passes (408, recorded as a refusal), headers
 * too large (431), unparsable HTTP (400).
 */
export function createClientErrorListener(ingest: Ingest) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    let reply: Reply;
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const source = reading.get(socket) ?? '';
      reply = ingest.refuse(source, 'request_timeout', 'the request was not received in time', {
        remoteAddress: socket.remoteAddress ?? null,
      });
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      reply = errorReply('headers_too_large', 'request headers are too large');
    } else {
      reply = errorReply('bad_request', 'malformed HTTP request');
    }
    endWith(socket, reply);
  };
}

/** Writes a reply straight to a socket Node has handed over, then closes it. */
function endWith(socket: Duplex, reply: Reply): void {
  const body = typeof reply.body === 'string' ? reply.body : '';
  let head = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status]}\r\n`;
  for (const [name, value] of Object.entries(reply.headers)) head += `${name}: ${value}\r\n`;
  socket.end(
    `${head}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * CONNECT never reaches the request listener: Node emits `connect` and, with no listener,
 * drops the socket without a word. Hookyard is no proxy: 405, like any other wrong method.
 */
export function createConnectListener() {
  return (_req: IncomingMessage, socket: Duplex): void => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    endWith(
      socket,
      errorReply('method_not_allowed', 'CONNECT is not served here', { allow: 'POST' }),
    );
  };
}
