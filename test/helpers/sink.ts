// A real HTTP endpoint on loopback that records what it receives and answers as told.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface Sink {
  url: string;
  port: number;
  received: Received[];
  /** Most requests in flight at once, seen so far. */
  maxConcurrent: number;
  /** Decides each reply; default 200. */
  respond: (r: Received, index: number) => Reply;
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSink(port = 0): Promise<Sink> {
  let inFlight = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const sink: Sink = {
    url: '',
    port: 0,
    received: [],
    maxConcurrent: 0,
    respond: () => ({ status: 200 }),
    waitFor(n, timeoutMs = 10_000) {
      if (sink.received.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`sink got ${sink.received.length} of ${n} requests in ${timeoutMs} ms`),
            ),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const server: Server = createServer((req, res) => {
    inFlight++;
    sink.maxConcurrent = Math.max(sink.maxConcurrent, inFlight);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        at: Date.now(),
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      const index = sink.received.push(r) - 1;
      for (const w of waiters.filter((x) => sink.received.length >= x.n)) w.resolve();
      const reply = sink.respond(r, index);
      setTimeout(() => {
        inFlight--;
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      }, reply.delayMs ?? 0);
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  sink.port = (server.address() as AddressInfo).port;
  sink.url = `http://127.0.0.1:${sink.port}`;
  return sink;
}
