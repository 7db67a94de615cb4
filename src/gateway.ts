// `hookyard serve`: the engine (engine.ts) behind a node:http server, or node:https with
// server.tls.
import { createServer, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from './config.ts';
import { createEngine, type EngineOptions } from './engine.ts';
import {
  createClientErrorListener,
  createConnectListener,
  createRequestListener,
} from './http/node.ts';
import { describeCertificate, loadTlsPair, watchTlsFiles } from './http/tls.ts';
import type { RejectionLog } from './ingest/rejections.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { Store } from './store/contract.ts';

export interface Gateway {
  /** `http://host:port` (`https://` with server.tls), with the port actually bound (config
   * port 0 picks a free one). */
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
  // Before the store is opened: certificate files that cannot serve are a start-up error.
  const tls = config.server.tls;
  const pair = tls && loadTlsPair(tls);
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

  const serverOptions: ServerOptions = {
    // Node requires headersTimeout <= requestTimeout; a lower request_timeout wins.
    headersTimeout: Math.min(config.server.headerTimeoutMs, config.server.requestTimeoutMs),
    requestTimeout: config.server.requestTimeoutMs,
    // How often Node checks those two timeouts; its 30 s default would let a slow sender
    // hold a connection long past request_timeout.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, config.server.requestTimeoutMs / 4)),
    keepAliveTimeout: 5000,
  };
  const listener = createRequestListener({
    ingest,
    api: engine.api,
    // An active probe, not the last commit's outcome: an instance taken out of rotation
    // after a failure gets no events, so it must become ready again without one.
    ready: engine.ready,
    onError(error) {
      logger.error({ err: error }, 'unhandled error in a request');
    },
  });
  const httpsServer =
    pair &&
    createHttpsServer(
      {
        ...serverOptions,
        ...pair,
        // headersTimeout starts after the handshake; without this a client that never
        // finishes one holds its connection for Node's default 120 s.
        handshakeTimeout: serverOptions.headersTimeout ?? config.server.headerTimeoutMs,
      },
      listener,
    );
  const server: Server = httpsServer || createServer(serverOptions, listener);
  // Past it Node closes each new connection at once, before a byte is read (or a TLS
  // handshake is done); the kernel's listen backlog holds what has not been accepted yet.
  server.maxConnections = config.server.maxConnections;
  // node:https also passes a failed TLS handshake (a timeout, or bytes that are not TLS) on
  // as 'clientError', on a socket that can carry no HTTP reply: an HTTP answer written there
  // would wait for a handshake that never comes, and hold the connection for good.
  httpsServer?.prependListener('tlsClientError', (_error, socket) => socket.destroy());
  server.on('connect', createConnectListener());
  const onClientError = createClientErrorListener(ingest);
  server.on('clientError', (error, socket) => {
    if (!socket.destroyed) onClientError(error, socket as Socket);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${pair ? 'https' : 'http'}://${host}:${address.port}`;
  logger.info(
    {
      url,
      storage: config.storage.replace(/\/\/[^@/]*@/, '//***@'),
      sources: [...config.sources.values()].map((s) => `${s.name} (${s.provider})`),
      ...(tls && pair && { tls: { cert: tls.cert, ...describeCertificate(pair.cert) } }),
    },
    `hookyard listening on ${url}`,
  );
  if (!config.api.token) logger.warn('api.token is not set: the REST API refuses every request');
  engine.start();
  const unwatch =
    tls && pair && httpsServer
      ? watchTlsFiles(httpsServer, tls, pair, { logger })
      : () => undefined;

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    store,
    rejections,
    lifecycle,
    close() {
      closing ??= (async () => {
        unwatch();
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
