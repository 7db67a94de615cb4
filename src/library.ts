// The embedded library (docs/spec.md §7): the same engine inside a Node app. Events are verified and
// stored exactly once like the gateway does; handlers registered with `yard.on` run as
// deliveries — leased, retried on throw with the same backoff, dead after max attempts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DELIVERY_DEFAULTS, expandEnv, resolveConfig } from './config.ts';
import type { WorkerSettings } from './delivery/dispatcher.ts';
import { type Handler, type HandlerEvent, HandlerTarget } from './delivery/handler-destination.ts';
import { createEngine, type Engine } from './engine.ts';
import { errorReply } from './errors.ts';
import { fastifyPlugin } from './http/fastify.ts';
import { handleFetch } from './http/fetch.ts';
import { type ExpressRequest, expressMiddleware, lastSegment } from './http/express.ts';
import { handleWebhook, send } from './http/node.ts';
import type { CheckedPattern, MatchedEvents, ProviderPayload } from './payload-types.ts';
import type { Store } from './store/contract.ts';

export type { Handler, HandlerEvent } from './delivery/handler-destination.ts';
export type { ProviderPayload, TypedProviders } from './payload-types.ts';

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

/** Source name → provider name, as the document given to `createHookyard` declares them. */
export type SourceProviders = Readonly<Record<string, string>>;

/** The source → provider map of a document known at compile time; any name and any provider
 * (so `unknown` payloads) when it is not. */
export type SourceProvidersOf<D> = D extends { readonly sources: infer S extends object }
  ? {
      [K in keyof S & string]: S[K] extends { readonly provider: infer P extends string }
        ? P
        : string;
    }
  : SourceProviders;

/**
 * What a handler of the `Pattern` events of `Provider` receives. For a typed provider it is one
 * variant per event type the pattern matches, so that testing `event.type` narrows
 * `event.payload`; otherwise a `HandlerEvent` with an `unknown` payload.
 */
export type ProviderEvent<Provider extends string, Pattern extends string = '*'> =
  MatchedEvents<Provider, Pattern> extends infer Matched extends string
    ? string extends Matched
      ? HandlerEvent
      : { [N in Matched]: HandlerEvent<ProviderPayload<Provider, N>, N> }[Matched]
    : never;

/** The event `yard.on` hands its handler. A typed provider's events (a literal `type`) are
 * always `ProviderEvent`, so that a handler written for other events is refused even when its
 * parameter is annotated; otherwise `T` — given explicitly or read from the handler's
 * annotation — or `unknown`. */
type OnEvent<T, Provider extends string, Pattern extends string> =
  string extends MatchedEvents<Provider, Pattern>
    ? [T] extends [never]
      ? HandlerEvent
      : HandlerEvent<T>
    : ProviderEvent<Provider, Pattern>;

/**
 * A yard. `Sources` maps its source names to providers (`createHookyard` reads it from the
 * document); a bare `Hookyard` is any yard — every typed one is assignable to it, and through it
 * every source name is accepted and payloads are `unknown`.
 */
// `any` as the default, not `SourceProviders`: a yard's `on` is generic over its sources, so
// `Hookyard<{ gh: 'github' }>` is not assignable to `Hookyard<SourceProviders>`; a type argument
// of `any` relates to every other one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface Hookyard<Sources extends SourceProviders = any> {
  /**
   * Runs `handler` for every stored event of `source` whose type matches the glob `type` (`*` is
   * any run of characters). For a GitHub or Stripe source the payload is typed from
   * @octokit/openapi-webhooks-types or `stripe` when installed, and `type` must name one of the
   * provider's events or be a glob that matches one. Otherwise the payload is `unknown`, or the
   * type given explicitly: `yard.on<MyPayload>(source, type, handler)`.
   */
  on<
    T = never,
    const S extends keyof Sources & string = keyof Sources & string,
    const P extends string = string,
  >(
    source: S,
    type: CheckedPattern<Sources[S], P>,
    handler: (event: OnEvent<T, Sources[S], P>) => unknown,
    options?: HandlerOptions,
  ): this;
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

/** Each yard's engine, for Hookyard's own tests; not exported from the package. */
const engines = new WeakMap<object, Engine>();

/** The engine behind a yard (its store, rejection log, router): tests only. */
export function engineOf(yard: object): Engine {
  const engine = engines.get(yard);
  if (!engine) throw new TypeError('not a yard made by createHookyard');
  return engine;
}

/**
 * `document` has the shape of `hookyard.yaml` (snake_case keys): `storage`, `sources`, and
 * optionally `destinations`, `routes`, `server.body_limit`, `log_level`. Written inline, its
 * source names and providers are known to the compiler, which types each `yard.on` handler.
 */
export function createHookyard<const D extends Readonly<Record<string, unknown>>>(
  document: D,
  options: CreateOptions = {},
): Hookyard<SourceProvidersOf<D>> {
  const config = resolveConfig(expandEnv(document, options.env ?? process.env));
  const engine = createEngine(config, {
    ...(options.logger && { logger: options.logger }),
    ...(options.store && { store: options.store }),
  });
  engine.start();
  const names = new Set<string>();

  function on(source: string, type: string, handler: Handler, opts: HandlerOptions = {}) {
    if (!config.sources.has(source)) throw new Error(`yard.on: no source named ${source}`);
    let name = opts.name ?? `on:${source}:${type}`;
    for (let n = 2; names.has(name); n++) name = `${opts.name ?? `on:${source}:${type}`}#${n}`;
    names.add(name);
    const settings: WorkerSettings = {
      name,
      concurrency: opts.concurrency ?? DELIVERY_DEFAULTS.concurrency,
      timeoutMs: opts.timeoutMs ?? 30_000,
      maxAttempts: opts.maxAttempts ?? DELIVERY_DEFAULTS.maxAttempts,
      backoffBaseMs: opts.backoffBaseMs ?? DELIVERY_DEFAULTS.backoffBaseMs,
      backoffMaxMs: opts.backoffMaxMs ?? DELIVERY_DEFAULTS.backoffMaxMs,
    };
    engine.dispatcher.add(settings, new HandlerTarget(handler, settings.timeoutMs));
    engine.router.add({ source, events: [type], filter: {}, to: [name] });
    return yard;
  }

  // The typed `on` is a compile-time view of the untyped one above: its generic signature says
  // which payload each handler gets; at runtime every handler gets the parsed body.
  const yard: Hookyard<SourceProvidersOf<D>> = {
    on: on as unknown as Hookyard<SourceProvidersOf<D>>['on'],
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
  engines.set(yard, engine);
  return yard;
}
