// Feeding a node request stream (node:http, Express, Fastify's raw request) to ingest.
import type { IncomingMessage } from 'node:http';
import type { Exchange } from '../ingest/ingest.ts';

/** Feeds `stream` to `accept` chunk by chunk, pausing it when `accept` says no. A body that
 * another middleware already read as bytes is `preRead`; a missing stream is an empty body. */
export function streamReader(
  stream: IncomingMessage | undefined,
  preRead?: Uint8Array,
): Exchange['readBody'] {
  if (preRead)
    return async (accept) => (preRead.length === 0 || accept(preRead) ? 'end' : 'stopped');
  return (accept) =>
    new Promise((resolve) => {
      if (!stream || stream.readableEnded) return resolve('end');
      const onData = (chunk: Buffer) => {
        if (accept(chunk)) return;
        stream.off('data', onData);
        stream.pause();
        resolve('stopped');
      };
      stream.on('data', onData);
      stream.once('end', () => resolve('end'));
      stream.once('error', () => resolve('aborted'));
      stream.once('close', () => {
        if (!stream.complete) resolve('aborted');
      });
    });
}
