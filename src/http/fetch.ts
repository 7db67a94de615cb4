// The fetch adapter: `Request → Response`, for Hono, Next.js route handlers, Bun, Deno and
// Cloudflare-style runtimes. It reads headers and body and sends the reply; every check is
// ingest's, the same as on node:http.
import { errorReply, type Reply } from '../errors.ts';
import type { Exchange, Ingest } from '../ingest/ingest.ts';

function toResponse(reply: Reply): Response {
  const body = typeof reply.body === 'string' ? reply.body : new Uint8Array(reply.body);
  return new Response(body, { status: reply.status, headers: reply.headers });
}

function bodyReader(request: Request): Exchange['readBody'] {
  return async (accept) => {
    if (!request.body) return 'end';
    const reader = request.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'end';
        if (!accept(value)) {
          await reader.cancel().catch(() => undefined);
          return 'stopped';
        }
      }
    } catch {
      return 'aborted';
    }
  };
}

/** The source is `source`, or else the last segment of the request's path (still encoded:
 * ingest decodes it, and a malformed escape is a 404). */
export async function handleFetch(
  ingest: Ingest,
  request: Request,
  source?: string,
): Promise<Response> {
  let segment = '';
  if (source === undefined) {
    const path = new URL(request.url).pathname;
    segment = path.slice(path.replace(/\/+$/, '').lastIndexOf('/') + 1).replace(/\/+$/, '');
  }
  const rawHeaders: string[] = [];
  for (const [name, value] of request.headers) rawHeaders.push(name, value);
  const outcome = await ingest.receive({
    method: request.method,
    source: source ?? segment,
    encoded: source === undefined,
    rawHeaders,
    // Fetch joins a repeated header with ", "; ingest splits its signature headers again.
    joinedHeaders: true,
    remoteAddress: null,
    readBody: bodyReader(request),
  });
  // Undefined only when the body stream failed: the client is gone, whatever is answered.
  if (!outcome) return toResponse(errorReply('bad_request', 'the request body could not be read'));
  const { reply, close } = outcome;
  return toResponse(
    close ? { ...reply, headers: { ...reply.headers, connection: 'close' } } : reply,
  );
}
