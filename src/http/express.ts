// The Express adapter: Express's req and res are node's, so it is the node:http adapter plus
// the two things Express adds — `req.params.source`, and a body some middleware may already
// have read (`express.raw()` leaves the bytes intact; `express.json()` does not).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorReply } from '../errors.ts';
import type { Ingest } from '../ingest/ingest.ts';
import { handleWebhook, send } from './node.ts';

/** Express-style request: node's, maybe with `params` and a body another middleware read. */
export type ExpressRequest = IncomingMessage & {
  params?: Record<string, string>;
  body?: unknown;
};

export function expressMiddleware(ingest: Ingest, options: { source?: string } = {}) {
  return (req: ExpressRequest, res: ServerResponse, next: (err?: unknown) => void): void => {
    let preRead: Uint8Array | undefined;
    if (Buffer.isBuffer(req.body)) {
      preRead = req.body; // express.raw() ran first: the bytes are intact
    } else if (req.body !== undefined && req.readableEnded) {
      // express.json() or urlencoded() consumed and re-shaped the body: the signed bytes are
      // gone, and verifying a re-serialisation would be wrong (octokit/webhooks.js #71).
      send(
        res,
        errorReply(
          'internal_error',
          'a body parser ran before hookyard: mount yard.express() before express.json(), or use express.raw()',
        ),
        true,
      );
      return;
    }
    // Express has already decoded req.params (and answers a malformed escape itself).
    const named = options.source ?? req.params?.source;
    const source = named !== undefined ? { name: named } : { segment: lastSegment(req.url ?? '') };
    handleWebhook(ingest, req, res, source, preRead).catch(next);
  };
}

/** The last non-empty segment of a URL's path, still percent-encoded. */
export function lastSegment(url: string): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/\/+$/, '');
  return path.slice(path.lastIndexOf('/') + 1);
}
