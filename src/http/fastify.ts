// The Fastify adapter: a plugin that takes every method on `/:source` and hands Fastify's
// raw request stream to ingest unread, so the limits, refusals and their format are ingest's,
// exactly as on node:http (Fastify's own body limit and 404/415 answers never see a webhook).
// Register it under a prefix:
//   fastify.register(yard.fastify(), { prefix: '/webhooks' })   → POST /webhooks/:source
// Typed structurally so that Fastify's types never leak into Hookyard's.
import type { IncomingMessage } from 'node:http';
import type { Ingest } from '../ingest/ingest.ts';
import { streamReader } from './read-stream.ts';

interface FastifyRequestLike {
  raw: IncomingMessage;
  /** The raw request stream, as the content-type parser below passed it on. */
  body: unknown;
  url: string;
}
interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(payload: string | Uint8Array): unknown;
}
export interface FastifyLike {
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    type: string,
    parser: (
      req: unknown,
      payload: IncomingMessage,
      done: (err: Error | null, body?: unknown) => void,
    ) => void,
  ): void;
  route(options: {
    method: string[];
    url: string;
    handler: (req: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>;
  }): void;
}

/** Every method Fastify routes: a GET or PUT must get Hookyard's 405, not Fastify's 404. */
const METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'];

export function fastifyPlugin(ingest: Ingest) {
  return async function hookyard(instance: FastifyLike): Promise<void> {
    instance.removeAllContentTypeParsers();
    // The stream itself, not read: ingest reads it under its own limit and byte budget.
    instance.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    instance.route({
      method: METHODS,
      url: '/*',
      handler: async (request, reply) => {
        const raw = request.raw;
        const url = raw.url ?? request.url;
        const q = url.indexOf('?');
        const path = (q < 0 ? url : url.slice(0, q)).replace(/\/+$/, '');
        const outcome = await ingest.receive({
          method: raw.method ?? 'GET',
          // The segment as sent, decoded by ingest (a malformed escape is a 404, not a 400
          // from Fastify's decoder).
          source: path.slice(path.lastIndexOf('/') + 1),
          encoded: true,
          rawHeaders: raw.rawHeaders,
          remoteAddress: raw.socket.remoteAddress ?? null,
          readBody: streamReader(request.body === raw ? raw : undefined),
        });
        if (!outcome) return reply;
        const headers = outcome.close
          ? { ...outcome.reply.headers, connection: 'close' }
          : outcome.reply.headers;
        return reply.code(outcome.reply.status).headers(headers).send(outcome.reply.body);
      },
    });
  };
}
