// The Fastify adapter: a plugin with its own content-type parser that keeps every body as raw
// bytes (the body-parser trap cannot happen inside it). Register it under a prefix:
//   fastify.register(yard.fastify(), { prefix: '/webhooks' })   → POST /webhooks/:source
// Typed structurally so that Fastify's types never leak into Hookyard's.
import type { IncomingMessage } from 'node:http';
import type { Ingest } from '../ingest/ingest.ts';
import { readHeaders } from './node.ts';

interface FastifyRequestLike {
  raw: IncomingMessage;
  body: unknown;
  params: unknown;
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
    options: { parseAs: 'buffer'; bodyLimit: number },
    parser: (req: unknown, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => void,
  ): void;
  post(
    path: string,
    handler: (req: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>,
  ): void;
}

export function fastifyPlugin(ingest: Ingest, bodyLimit: number) {
  return async function hookyard(instance: FastifyLike): Promise<void> {
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) =>
      done(null, body),
    );
    instance.post('/:source', async (request, reply) => {
      const name = (request.params as { source: string }).source;
      const { pairs, lookup } = readHeaders(request.raw.rawHeaders);
      const contentType = lookup['content-type'];
      const result = ingest.hasSource(name)
        ? await ingest.handle(
            name,
            {
              headers: lookup,
              body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
              contentType: typeof contentType === 'string' ? contentType : null,
            },
            { remoteAddress: request.raw.socket.remoteAddress ?? null, rawHeaders: pairs },
          )
        : ingest.refuse(name, 'source_not_found', `no source named ${name}`, {});
      return reply.code(result.status).headers(result.headers).send(result.body);
    });
  };
}
