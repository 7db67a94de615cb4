// The node:http adapter: reads the raw body (enforcing the limit while streaming), hands it
// to ingest or the API, and writes the Reply. It owns nothing but HTTP.
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ApiRequest } from '../api/api.ts';
import { type ErrorCode, errorReply, jsonReply, type Reply } from '../errors.ts';
import type { IngestRequest } from '../ingest/identify.ts';
import type { Ingest } from '../ingest/ingest.ts';

export interface HttpApp {
  ingest: Ingest;
  api(req: ApiRequest): Promise<Reply>;
  ready(): Promise<boolean>;
  bodyLimit: number;
  onError(error: unknown): void;
}

const WEBHOOKS = '/webhooks/';
const API_BODY_LIMIT = 1024 * 1024;

/** The source segment, decoded; a malformed escape names no source (404, not a 500). */
function sourceName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

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

/** One pass over rawHeaders: the pairs as received, and a lower-cased lookup in which a
 * header sent more than once is an array (Node would join it with ", "). */
export function readHeaders(raw: string[]): {
  pairs: [string, string][];
  lookup: Record<string, string | string[]>;
} {
  const pairs: [string, string][] = [];
  const lookup: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    pairs.push([name, value]);
    const key = name.toLowerCase();
    const seen = lookup[key];
    if (seen === undefined) lookup[key] = value;
    else lookup[key] = Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return { pairs, lookup };
}

/** Sources whose body is being read, for the request-timeout reply in `onClientError`. */
const reading = new WeakMap<Socket, string>();

type Body = { ok: true; body: Buffer } | { ok: false; tooLarge: boolean };

function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        resolve({ ok: false, tooLarge: true });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () =>
      resolve({
        ok: true,
        body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size),
      }),
    );
    req.once('error', () => resolve({ ok: false, tooLarge: false }));
    req.once('close', () => {
      if (!req.complete) resolve({ ok: false, tooLarge: false });
    });
  });
}

/**
 * One webhook request on node:http (and Express, whose req/res are node's). `preRead` is a
 * body something else already read as raw bytes (Express's `express.raw()`).
 */
export async function handleWebhook(
  app: Pick<HttpApp, 'ingest' | 'bodyLimit'>,
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  preRead?: Buffer,
) {
  const remoteAddress = req.socket.remoteAddress ?? null;
  const declared = req.headers['content-length'];
  const hasBody =
    declared !== undefined ? declared !== '0' : req.headers['transfer-encoding'] !== undefined;
  const early = (code: ErrorCode, message: string, extra: Record<string, string> = {}) => {
    const reply = app.ingest.refuse(name, code, message, { remoteAddress });
    send(res, { ...reply, headers: { ...reply.headers, ...extra } }, hasBody);
  };
  if (req.method !== 'POST')
    return early('method_not_allowed', 'webhooks are POSTed', { allow: 'POST' });
  if (!app.ingest.hasSource(name)) return early('source_not_found', `no source named ${name}`);
  if (declared !== undefined && Number(declared) > app.bodyLimit) {
    return early('body_too_large', `body is over the ${app.bodyLimit}-byte limit`);
  }

  reading.set(req.socket, name);
  const read: Body = preRead
    ? preRead.length > app.bodyLimit
      ? { ok: false, tooLarge: true }
      : { ok: true, body: preRead }
    : await readBody(req, app.bodyLimit);
  reading.delete(req.socket);
  if (!read.ok) {
    if (read.tooLarge) early('body_too_large', `body is over the ${app.bodyLimit}-byte limit`);
    return; // the client went away: nobody to answer
  }
  const { pairs, lookup } = readHeaders(req.rawHeaders);
  const contentType = lookup['content-type'];
  const request: IngestRequest = {
    headers: lookup,
    body: read.body,
    contentType: typeof contentType === 'string' ? contentType : null,
  };
  send(res, await app.ingest.handle(name, request, { remoteAddress, rawHeaders: pairs }));
}

export function createRequestListener(app: HttpApp) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let work: Promise<void> | undefined;
    if (path.startsWith(WEBHOOKS) && path.indexOf('/', WEBHOOKS.length) < 0) {
      work = handleWebhook(app, req, res, sourceName(path.slice(WEBHOOKS.length)));
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
    } else if (path === '/api' || path.startsWith('/api/')) {
      work = readBody(req, API_BODY_LIMIT).then(async (read) => {
        if (!read.ok) {
          if (read.tooLarge)
            send(res, errorReply('body_too_large', 'API bodies are at most 1 MiB'), true);
          return;
        }
        const reply = await app.api({
          method: req.method ?? 'GET',
          path: path.slice(4),
          query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
          authorization: req.headers.authorization,
          body: read.body.toString('utf8'),
        });
        send(res, reply);
      });
    } else {
      send(res, errorReply('not_found', `no route ${req.method} ${path}`), true);
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
    const body = typeof reply.body === 'string' ? reply.body : '';
    socket.end(
      `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status]}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  };
}
