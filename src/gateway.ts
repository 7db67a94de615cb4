// `hookyard serve`: the engine (engine.ts) behind a node:http server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import { createEngine, type EngineOptions } from './engine.ts';
import type { Lifecycle } from './events.ts';
import { createClientErrorListener, createRequestListener } from './http/node.ts';
import type { RejectionLog } from './ingest/rejections.ts';
import type { Store } from './store/contract.ts';

export interface Gateway {
  /** `http://host:port`, with the port actually bound (config port 0 picks a free one). */
  url: string;
  server: Server;
  store: Store;
  rejections: RejectionLog;
  lifecycle: Lifecycle;
  /** Stops accepting, answers what is in flight, commits what is queued, closes the store. */
  close(): Promise<void>;
}

export type GatewayOptions = EngineOptions;

export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const engine = createEngine(config, options);
  const { logger, store, rejections, lifecycle, ingest } = engine;
  // Schema first, and a store that cannot be reached is a start-up error, not a gateway that
  // answers 503 to everything.
  try {
    const { applied, version } = await store.migrate();
    if (applied.length) logger.info({ applied, version }, 'storage: migrations applied');
  } catch (error) {
    await engine.close().catch(() => undefined);
    throw error;
  }

  const server = createServer(
    {
      // Node requires headersTimeout <= requestTimeout; a lower request_timeout wins.
      headersTimeout: Math.min(config.server.headerTimeoutMs, config.server.requestTimeoutMs),
      requestTimeout: config.server.requestTimeoutMs,
      // How often Node checks those two timeouts; its 30 s default would let a slow sender
      // hold a connection long past request_timeout.
      connectionsCheckingInterval: Math.max(
        100,
        Math.min(1000, config.server.requestTimeoutMs / 4),
      ),
      keepAliveTimeout: 5000,
    },
    createRequestListener({
      ingest,
      api: engine.api,
      bodyLimit: config.server.bodyLimit,
      // An active probe, not the last commit's outcome: an instance taken out of rotation
      // after a failure gets no events, so it must become ready again without one.
      ready: engine.ready,
      onError(error) {
        logger.error({ err: error }, 'unhandled error in a request');
      },
    }),
  );
  server.on('clientError', createClientErrorListener(ingest));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info(
    {
      url,
      storage: config.storage.replace(/\/\/[^@/]*@/, '//***@'),
      sources: [...config.sources.values()].map((s) => `${s.name} (${s.provider})`),
    },
    `hookyard listening on ${url}`,
  );
  if (!config.api.token) logger.warn('api.token is not set: the REST API refuses every request');
  engine.start();

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    store,
    rejections,
    lifecycle,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await closed;
        await engine.close();
        logger.info('hookyard stopped');
      })();
      return closing;
    },
  };
}
