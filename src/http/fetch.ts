// The fetch adapter: `Request → Response`, for Hono, Next.js route handlers, Bun, Deno and
// Cloudflare-style runtimes. The body is read as bytes, with the limit enforced while reading.
import type { Reply } from '../errors.ts';
import type { Ingest } from '../ingest/ingest.ts';
import { concat } from '../verify/encoding.ts';

async function readLimited(request: Request, limit: number): Promise<Uint8Array | 'too_large'> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return 'too_large';
    }
    chunks.push(value);
  }
  return concat(chunks);
}

function toResponse(reply: Reply): Response {
  const body = typeof reply.body === 'string' ? reply.body : new Uint8Array(reply.body);
  return new Response(body, { status: reply.status, headers: reply.headers });
}

/** The source is `source`, or else the last segment of the request's path. */
export async function handleFetch(
  ingest: Ingest,
  bodyLimit: number,
  request: Request,
  source?: string,
): Promise<Response> {
  const url = new URL(request.url);
  const name = source ?? decodeURIComponent(url.pathname.split('/').filter(Boolean).at(-1) ?? '');
  const refuse = (code: Parameters<Ingest['refuse']>[1], message: string, extra = {}) => {
    const reply = ingest.refuse(name, code, message, {});
    return toResponse({ ...reply, headers: { ...reply.headers, ...extra } });
  };
  if (request.method !== 'POST')
    return refuse('method_not_allowed', 'webhooks are POSTed', { allow: 'POST' });
  if (!ingest.hasSource(name)) return refuse('source_not_found', `no source named ${name}`);
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > bodyLimit) {
    return refuse('body_too_large', `body is over the ${bodyLimit}-byte limit`);
  }
  const body = await readLimited(request, bodyLimit);
  if (body === 'too_large')
    return refuse('body_too_large', `body is over the ${bodyLimit}-byte limit`);
  // Fetch joins a repeated header with ", "; the verifiers then see one garbled value.
  const pairs: [string, string][] = [...request.headers];
  const lookup: Record<string, string> = Object.fromEntries(pairs);
  const reply = await ingest.handle(
    name,
    { headers: lookup, body, contentType: request.headers.get('content-type') },
    { remoteAddress: null, rawHeaders: pairs },
  );
  return toResponse(reply);
}
