// `hookyard serve`: the engine (engine.ts) behind a node:http server, or node:https with
// server.tls.
import { createServer, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from './config.ts';
import { createEngine, type EngineOptions } from './engine.ts';
import { authorized } from './api/api.ts';
import {
  createClientErrorListener,
  createConnectListener,
  createRequestListener,
  type HttpApp,
} from './http/node.ts';
import { createWebApp, webListener } from './http/web.ts';
import { describeCertificate, loadTlsPair, watchTlsFiles } from './http/tls.ts';
import type { RejectionLog } from './ingest/rejections.ts';
import type { Lifecycle } from './lifecycle.ts';
import { createMetrics } from './metrics/metrics.ts';
import type { Store } from './store/contract.ts';

export interface Gateway {
  /** `http://host:port` (`https://` with server.tls), with the port actually bound (config
   * port 0 picks a free one). */
  url: string;
  /** The admin listener's `http://host:port`, when `server.admin` is set. */
  adminUrl?: string;
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
  const onError = (error: unknown) => logger.error({ err: error }, 'unhandled error in a request');
  const metrics = config.metrics.enabled
    ? createMetrics({
        lifecycle,
        store,
        sources: config.sources.keys(),
        destinations: config.destinations.keys(),
      })
    : undefined;
  const web = webListener(
    createWebApp({
      api: engine.api,
      authorized: (header) => authorized(config.api.token, header),
      stream: engine.stream,
      checkCursor: async (cursor) => void (await store.eventsAfter(cursor, 1)),
      onError,
      ...(metrics && {
        metrics: {
          public: config.metrics.public,
          contentType: metrics.contentType,
          scrape: () => metrics.scrape(),
        },
      }),
    }),
  );
  const admin = config.server.admin;
  const app = (serves: HttpApp['serves']) =>
    createRequestListener({
      ingest,
      web,
      serves,
      // An active probe, not the last commit's outcome: an instance taken out of rotation
      // after a failure gets no events, so it must become ready again without one.
      ready: engine.ready,
      onError,
    });
  const listener = app(admin ? 'public' : 'all');
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

  // The admin listener (server.admin): plain HTTP on an internal address, everything but
  // webhooks. Bounded like the public one.
  const adminServer = admin && createServer(serverOptions, app('admin'));
  if (adminServer) {
    adminServer.maxConnections = config.server.maxConnections;
    adminServer.on('clientError', (error, socket) => {
      if (!socket.destroyed) onClientError(error, socket as Socket);
    });
  }

  const listen = (s: Server, port: number, host: string) =>
    new Promise<string>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => {
        s.off('error', reject);
        const address = s.address() as AddressInfo;
        const h = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve(`${h}:${address.port}`);
      });
    });
  let url: string;
  let adminUrl: string | undefined;
  try {
    url = `${pair ? 'https' : 'http'}://${await listen(server, config.server.port, config.server.host)}`;
    if (admin && adminServer)
      adminUrl = `http://${await listen(adminServer, admin.port, admin.host)}`;
  } catch (error) {
    server.close();
    metrics?.close();
    await engine.close().catch(() => undefined);
    throw error;
  }
  logger.info(
    {
      url,
      storage: config.storage.replace(/\/\/[^@/]*@/, '//***@'),
      sources: [...config.sources.values()].map((s) => `${s.name} (${s.provider})`),
      ...(tls && pair && { tls: { cert: tls.cert, ...describeCertificate(pair.cert) } }),
    },
    `hookyard listening on ${url}`,
  );
  if (adminUrl) logger.info({ adminUrl }, `hookyard admin (API, dashboard) on ${adminUrl}`);
  if (!config.api.token) logger.warn('api.token is not set: the REST API refuses every request');
  engine.start();
  const unwatch =
    tls && pair && httpsServer
      ? watchTlsFiles(httpsServer, tls, pair, { logger })
      : () => undefined;

  let closing: Promise<void> | undefined;
  return {
    url,
    ...(adminUrl !== undefined && { adminUrl }),
    server,
    store,
    rejections,
    lifecycle,
    close() {
      closing ??= (async () => {
        unwatch();
        const servers = adminServer ? [server, adminServer] : [server];
        const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
        // Streams are long-lived by design: end them, or the close would wait for their clients.
        engine.stream.close();
        for (const s of servers) s.closeIdleConnections();
        await Promise.all(closed);
        await engine.close();
        metrics?.close();
        logger.info('hookyard stopped');
      })();
      return closing;
    },
  };
}
