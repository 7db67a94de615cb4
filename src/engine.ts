// The engine every way of running Hookyard shares — the standalone gateway and the embedded
// library: store → group commit → ingest (with the router) → dispatcher, plus the REST API.
// No HTTP server in here; adapters (src/http/) bring requests in.
import { type Logger, pino } from 'pino';
import { createApi } from './api/api.ts';
import { StreamHub } from './api/stream.ts';
import type { ApiRequest } from './api/api.ts';
import type { Config } from './config.ts';
import { Dispatcher } from './delivery/dispatcher.ts';
import { HttpDestination } from './delivery/http-destination.ts';
import { Router } from './delivery/router.ts';
import type { Reply } from './errors.ts';
import { createIngest, type Ingest } from './ingest/ingest.ts';
import { RejectionLog } from './ingest/rejections.ts';
import { Lifecycle } from './lifecycle.ts';
import { Notifier } from './notify/notifier.ts';
import type { Store } from './store/contract.ts';
import { GroupCommit } from './store/group-commit.ts';
import { openStore } from './store/open.ts';
import { Retention } from './store/retention.ts';
import { SearchIndexer } from './store/search.ts';
import { ActivityCounter } from './store/series.ts';

export interface Engine {
  config: Config;
  logger: Logger;
  store: Store;
  lifecycle: Lifecycle;
  rejections: RejectionLog;
  router: Router;
  dispatcher: Dispatcher;
  ingest: Ingest;
  api(req: ApiRequest): Promise<Reply>;
  /** Prunes old events in the background; undefined with `retention: forever`. */
  retention: Retention | undefined;
  /** Indexes events for search behind the commit; undefined with `search.enabled: false`. */
  search: SearchIndexer | undefined;
  /** Counts received, delivered and failed per minute, added to the store every few seconds. */
  activity: ActivityCounter;
  /** The live stream's reader (GET /api/stream). */
  stream: StreamHub;
  /** Operational notifications (`notify:`); undefined without. */
  notifier: Notifier | undefined;
  /** Starts the background work: delivery workers and retention. */
  start(): void;
  /** True when the store could take a write now. */
  ready(): Promise<boolean>;
  /** Commits what is queued, lets deliveries in flight finish (or gives them back), closes the store. */
  close(): Promise<void>;
}

export interface EngineOptions {
  logger?: Logger;
  /** A store to use instead of opening `config.storage` (tests). */
  store?: Store;
}

export function createEngine(config: Config, options: EngineOptions = {}): Engine {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const store =
    options.store ??
    openStore(config.storage, {
      pool: config.postgres.pool,
      connectTimeoutMs: config.postgres.connectTimeoutMs,
      batchLingerMs: config.postgres.batchLingerMs,
    });
  const lifecycle = new Lifecycle();
  const commits = new GroupCommit(store, {
    linger: store.batchLinger ?? 0,
    // one emit per transaction, nothing per event (the batch-size metric)
    onBatch: (size) => lifecycle.emit('commit:batch', { size }),
  });
  const rejections = new RejectionLog();
  lifecycle.on('delivery:dead', (d) => logger.warn(d, 'delivery dead'));
  lifecycle.on('delivery:attempt', (d) =>
    logger.debug(
      { delivery: d.deliveryId, destination: d.destination, outcome: d.attempt.outcome },
      'attempt',
    ),
  );
  const router = new Router(config.routes);
  const ingest = createIngest({
    config,
    commits,
    rejections,
    logger,
    lifecycle,
    route: (event) => router.route(event),
  });
  const dispatcher = new Dispatcher(config.destinations.values(), { store, lifecycle, logger });
  // Notifications are events of their own with a delivery to an internal destination: the
  // same workers, retries, signing and SSRF guard as any destination (notify/notifier.ts).
  if (config.notify)
    dispatcher.add(config.notify.destination, new HttpDestination(config.notify.destination));
  const notifier =
    config.notify && new Notifier({ config: config.notify, lifecycle, commits, logger });
  const activity = new ActivityCounter(store, logger);
  lifecycle.on('event:received', () => activity.received());
  // An attempt's outcome says delivered or failed (a dead delivery's last attempt failed too).
  lifecycle.on('delivery:attempt', (d) => activity.attempt(d.destination, d.attempt));
  const api = createApi({ config, store, commits, rejections, lifecycle, activity });
  const stream = new StreamHub(store, lifecycle);
  const retention =
    config.retentionMs === null
      ? undefined
      : new Retention(store, logger, { retentionMs: config.retentionMs });
  const search = config.search.enabled
    ? new SearchIndexer(store, logger, { intervalMs: config.search.intervalMs })
    : undefined;
  let closing: Promise<void> | undefined;
  return {
    config,
    logger,
    store,
    lifecycle,
    rejections,
    router,
    dispatcher,
    ingest,
    api,
    retention,
    search,
    activity,
    stream,
    notifier,
    start() {
      dispatcher.start();
      retention?.start();
      search?.start();
      activity.start();
    },
    async ready() {
      try {
        await store.ping();
        return true;
      } catch {
        return false;
      }
    },
    close() {
      closing ??= (async () => {
        stream.close();
        await commits.drain();
        await retention?.stop();
        await search?.stop();
        await dispatcher.stop();
        await notifier?.close(); // after the last attempts: what they told is stored too
        await activity.stop(); // after the last attempts: their counts are flushed too
        await store.close();
      })();
      return closing;
    },
  };
}
