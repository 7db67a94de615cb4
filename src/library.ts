// The embedded library (docs/spec.md §7): the same engine inside a Node app. Events are verified and
// stored exactly once like the gateway does; handlers registered with `yard.on` run as
// deliveries — leased, retried on throw with the same backoff, dead after max attempts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { expandEnv, resolveConfig } from './config.ts';
import type { WorkerSettings } from './delivery/dispatcher.ts';
import { type Handler, HandlerTarget } from './delivery/handler-destination.ts';
import { createEngine, type Engine } from './engine.ts';
import { errorReply } from './errors.ts';
import { fastifyPlugin } from './http/fastify.ts';
import { handleFetch } from './http/fetch.ts';
import { type ExpressRequest, expressMiddleware, lastSegment } from './http/express.ts';
import { handleWebhook, send } from './http/node.ts';
import type { Store } from './store/contract.ts';

export type { Handler, HandlerEvent } from './delivery/handler-destination.ts';

export interface HandlerOptions {
  /** A stable name for this handler's deliveries; default `on:<source>:<type>`. Pending
   * deliveries are resumed after a restart by the handler registered under the same name. */
  name?: string;
  /** Attempts before the delivery is dead. Default 12. */
  maxAttempts?: number;
  /** Backoff base and cap in ms (docs/spec.md §4). Defaults 5 s and 6 h. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Handler calls in flight at once. Default 10. */
  concurrency?: number;
  /** A call that has not settled by then counts as failed. Default 30 s. */
  timeoutMs?: number;
}

export interface Hookyard {
  readonly engine: Engine;
  /** Runs `handler` for every stored event of `source` whose type matches the glob `type`. */
  on<T = unknown>(
    source: string,
    type: string,
    handler: Handler<T>,
    options?: HandlerOptions,
  ): Hookyard;
  /** A node:http handler; the source is `source` or the last path segment. */
  node(options?: { source?: string }): (req: IncomingMessage, res: ServerResponse) => void;
  /** Express middleware: `app.post('/webhooks/:source', yard.express())`. Mount it before any
   * JSON body parser, or after `express.raw()`. */
  express(options?: {
    source?: string;
  }): (req: ExpressRequest, res: ServerResponse, next: (err?: unknown) => void) => void;
  /** A Fastify plugin: `fastify.register(yard.fastify(), { prefix: '/webhooks' })`. */
  fastify(): ReturnType<typeof fastifyPlugin>;
  /** `Request → Response` (Hono, Next.js route handlers, Bun, Deno). */
  fetch(request: Request, source?: string): Promise<Response>;
  /** Finishes in-flight work and closes the store. */
  close(): Promise<void>;
}

export interface CreateOptions {
  logger?: Logger;
  /** Where `${VAR}` in the document expands from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  store?: Store;
}

/**
 * `document` has the shape of `hookyard.yaml` (snake_case keys): `storage`, `sources`, and
 * optionally `destinations`, `routes`, `server.body_limit`, `log_level`.
 */
export function createHookyard(
  document: Record<string, unknown>,
  options: CreateOptions = {},
): Hookyard {
  const config = resolveConfig(expandEnv(document, options.env ?? process.env));
  const engine = createEngine(config, {
    ...(options.logger && { logger: options.logger }),
    ...(options.store && { store: options.store }),
  });
  engine.start();
  const names = new Set<string>();

  const yard: Hookyard = {
    engine,
    on(source, type, handler, opts = {}) {
      if (!config.sources.has(source)) throw new Error(`yard.on: no source named ${source}`);
      let name = opts.name ?? `on:${source}:${type}`;
      for (let n = 2; names.has(name); n++) name = `${opts.name ?? `on:${source}:${type}`}#${n}`;
      names.add(name);
      const settings: WorkerSettings = {
        name,
        concurrency: opts.concurrency ?? 10,
        timeoutMs: opts.timeoutMs ?? 30_000,
        maxAttempts: opts.maxAttempts ?? 12,
        backoffBaseMs: opts.backoffBaseMs ?? 5000,
        backoffMaxMs: opts.backoffMaxMs ?? 6 * 3_600_000,
      };
      engine.dispatcher.add(settings, new HandlerTarget(handler as Handler, settings.timeoutMs));
      engine.router.add({ source, events: [type], filter: {}, to: [name] });
      return yard;
    },
    node(opts = {}) {
      return (req, res) => {
        const source =
          opts.source !== undefined
            ? { name: opts.source }
            : { segment: lastSegment(req.url ?? '') };
        handleWebhook(engine.ingest, req, res, source).catch((error: unknown) => {
          engine.logger.error({ err: error }, 'webhook handler failed');
          send(res, errorReply('internal_error', 'internal error'), true);
        });
      };
    },
    express(opts = {}) {
      return expressMiddleware(engine.ingest, opts);
    },
    fastify() {
      return fastifyPlugin(engine.ingest);
    },
    fetch(request, source) {
      return handleFetch(engine.ingest, request, source);
    },
    close() {
      return engine.close();
    },
  };
  return yard;
}
