// The one place Hookyard's options are declared, documented and given defaults (docs/style.md §6).
// `hookyard.yaml` → env expansion → flag overrides → validation → `Config`.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { JSON_PATH, JSON_PATH_EXPECTED } from './json-path.ts';
import { unsafeUrl } from './ssrf.ts';
import { createVerifier, PROVIDERS, type VerifierOptions } from './verify/index.ts';

export { ConfigError };

/** A route filter's condition (the grammar is in delivery/router.ts). */
export type Condition =
  | string
  | number
  | boolean
  | null
  | {
      $eq?: unknown;
      $ne?: unknown;
      $gt?: number | string;
      $gte?: number | string;
      $lt?: number | string;
      $lte?: number | string;
      $in?: unknown[];
      $nin?: unknown[];
      $exists?: boolean;
    };

export interface RouteConfig {
  source: string;
  /** Type globs: `*` matches any run of characters. Empty: every type. */
  events: string[];
  filter: Record<string, Condition>;
  to: string[];
}

export const OPERATORS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists'];

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const UNITS_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `10s`, `5m`, `6h`, `30d`, `250ms`, or a number of seconds → milliseconds. */
const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  const m =
    typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim()) : null;
  if (!m) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like 10s, 5m, 6h, 30d; got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return Number(m[1]) * (UNITS_MS[m[2] as string] ?? 1);
});

/** `5mb`, `512kb`, or a number of bytes. */
const size = z.union([z.number(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  const m =
    typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)$/i.exec(value.trim()) : null;
  if (!m) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a size like 512kb or 5mb; got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return Math.floor(Number(m[1]) * (UNITS_BYTES[(m[2] as string).toLowerCase()] ?? 1));
});

const secret = z
  .string()
  .min(1, 'must not be empty (did an environment variable expand to nothing?)');

const sourceSchema = z
  .strictObject({
    provider: z.enum(PROVIDERS as [string, ...string[]]),
    /** One secret … */
    secret: secret.optional(),
    /** … or several, newest first, while a secret is being rotated. */
    secrets: z.array(secret).min(1).optional(),
    /** Timestamp tolerance (both directions) for schemes that sign a time; default 300 s. */
    tolerance: duration.optional(),
    /** github: also accept the legacy SHA-1 signature header. */
    allow_sha1: z.boolean().optional(),
    // Generic `hmac` provider:
    header: z.string().min(1).optional(),
    algorithm: z.enum(['sha1', 'sha256', 'sha512']).optional(),
    encoding: z.enum(['hex', 'base64']).optional(),
    prefix: z.string().optional(),
    timestamp_header: z.string().min(1).optional(),
    /** The header holding the sender's event id (dedup key); else a SHA-256 of the body. */
    id_header: z.string().min(1).optional(),
    /** Where the event type is in a JSON body, e.g. `$.event` or `$.data.kind`. */
    type_path: z.string().regex(JSON_PATH, JSON_PATH_EXPECTED).optional(),
    /** The signed string, e.g. `{timestamp}.{body}`. */
    template: z.string().optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.secret === undefined) === (s.secrets === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of secret or secrets' });
    }
    if (s.provider === 'hmac' && !s.header) {
      ctx.addIssue({
        code: 'custom',
        path: ['header'],
        message: 'the hmac provider needs a header',
      });
    }
    const hmacOnly = [
      'header',
      'algorithm',
      'encoding',
      'prefix',
      'timestamp_header',
      'type_path',
      'template',
    ] as const;
    for (const key of hmacOnly) {
      if (s.provider !== 'hmac' && s[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `only the hmac provider takes ${key}`,
        });
      }
    }
  });

const destinationSchema = z.strictObject({
  /** Where events are POSTed. http(s) only; see allow_unsafe_url. */
  url: z.url({ protocol: /^https?$/ }),
  /** `whsec_…` key deliveries are signed with (Standard Webhooks `webhook-signature`). */
  secret: secret.optional(),
  /** Time for the whole attempt (connect, send, response headers and body). Default 10 s. */
  timeout: duration.prefault('10s'),
  /** Attempts before a delivery is dead. Default 12. */
  max_attempts: z.number().int().min(1).max(1000).default(12),
  /** Retry n waits a random point in [d/2, d], d = min(backoff_max, backoff_base·2^(n−1)). */
  backoff_base: duration.prefault('5s'),
  backoff_max: duration.prefault('6h'),
  /** Attempts in flight at once to this destination. Default 10. */
  concurrency: z.number().int().min(1).max(1000).default(10),
  /** Allow link-local and cloud-metadata addresses (refused by default: SSRF). */
  allow_unsafe_url: z.boolean().default(false),
  /** Most attempts started in any second, minute or hour: `50/s`, `600/m`, `1000/h`. */
  rate: z
    .string()
    .regex(/^[1-9]\d{0,5}\/(s|m|h)$/, 'expected a rate like 50/s, 600/m or 1000/h')
    .optional(),
  /**
   * A path into the payload (`$.data.object.id`): deliveries with the same value reach this
   * destination one at a time, in arrival order; different values proceed in parallel.
   */
  ordering_key: z.string().regex(JSON_PATH, JSON_PATH_EXPECTED).optional(),
});

const conditionSchema: z.ZodType<Condition> = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.record(z.string(), z.unknown()).superRefine((c, ctx) => {
    for (const [op, v] of Object.entries(c)) {
      if (!OPERATORS.includes(op))
        ctx.addIssue({
          code: 'custom',
          path: [op],
          message: `unknown operator ${op}; use ${OPERATORS.join(' ')}`,
        });
      else if ((op === '$in' || op === '$nin') && !Array.isArray(v))
        ctx.addIssue({ code: 'custom', path: [op], message: `${op} takes a list` });
      else if (op === '$exists' && typeof v !== 'boolean')
        ctx.addIssue({ code: 'custom', path: [op], message: '$exists takes true or false' });
    }
  }) as z.ZodType<Condition>,
]);

const routeSchema = z.strictObject({
  source: z.string(),
  /** Event-type globs; omitted: every type. */
  events: z.union([z.string(), z.array(z.string())]).optional(),
  filter: z
    .record(z.string().regex(JSON_PATH, `filter keys: ${JSON_PATH_EXPECTED}`), conditionSchema)
    .optional(),
  to: z.union([z.string(), z.array(z.string()).min(1)]),
});

const schema = z.strictObject({
  /** `sqlite:<path>` (default `sqlite:./.hookyard/hookyard.db`) or `postgres://…`. */
  storage: z.string().default('sqlite:./.hookyard/hookyard.db'),
  /** PostgreSQL only: the connection pool per process. */
  postgres: z
    .strictObject({
      /** Connections per gateway process. */
      pool: z.number().int().min(1).max(1000).default(10),
      /** How long a request waits for a connection before it is answered 503. */
      connect_timeout: duration.prefault('5s'),
      /** How long a lone event may wait for others to share its transaction while the last
       * batch had company (0, the default: never). Less CPU per event at a moderate load;
       * less throughput at saturation (bench/README.md). */
      batch_linger: duration.prefault('0ms'),
    })
    .prefault({}),
  /** Events older than this are pruned in the background, with their deliveries and
   * attempts; `forever` keeps everything. */
  retention: z.union([z.literal('forever'), duration]).prefault('30d'),
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8787),
      /** Largest accepted body; refused with 413 while still streaming. */
      body_limit: size.prefault('5mb'),
      /** Time allowed for a client to send all request headers. */
      header_timeout: duration.prefault('10s'),
      /** Time allowed for a whole request, body included (slow senders get 408). */
      request_timeout: duration.prefault('30s'),
      /** Open connections at once; past it new ones are closed at once (the kernel backlog
       * holds the rest). Every sender that can hold a socket is bounded by this. */
      max_connections: z.number().int().min(1).max(1_000_000).default(1000),
      /** Request body bytes being read or waiting for their commit, across every request.
       * A request whose declared or streamed size would pass it gets 503 + Retry-After. */
      max_bytes_in_flight: size.prefault('64mb'),
      /** Refusal log lines per second; past it refusals are counted, not logged, and one line
       * per interval says how many were left out. */
      refusal_log_rate: z.number().int().min(0).max(100_000).default(20),
      /** HTTPS without a proxy: PEM files, read at start and again whenever either changes
       * (certificate renewal needs no restart). */
      tls: z
        .strictObject({
          cert: z.string().min(1),
          key: z.string().min(1),
        })
        .optional(),
    })
    .prefault({}),
  api: z
    .strictObject({
      /** Bearer token for /api. Without one, the API refuses every request. */
      token: secret.optional(),
    })
    .prefault({}),
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Each source is served at `POST /webhooks/<name>`. */
  sources: z.record(z.string(), sourceSchema).default({}),
  destinations: z.record(z.string(), destinationSchema).default({}),
  routes: z.array(routeSchema).default([]),
});

export type RawSource = z.output<typeof sourceSchema>;

export interface SourceConfig {
  name: string;
  provider: VerifierOptions['provider'];
  verifier: VerifierOptions;
  idHeader?: string;
  typePath?: string;
}

export interface DestinationConfig {
  name: string;
  url: URL;
  secret?: string;
  timeoutMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  concurrency: number;
  allowUnsafeUrl: boolean;
  /** At most `limit` attempts started in any window of `windowMs`. */
  rate?: { limit: number; windowMs: number };
  orderingKey?: string;
}

export interface Config {
  storage: string;
  postgres: { pool: number; connectTimeoutMs: number; batchLingerMs: number };
  /** Null: keep events forever. */
  retentionMs: number | null;
  server: {
    host: string;
    port: number;
    bodyLimit: number;
    headerTimeoutMs: number;
    requestTimeoutMs: number;
    maxConnections: number;
    maxBytesInFlight: number;
    refusalLogRate: number;
    tls?: { cert: string; key: string };
  };
  api: { token?: string };
  logLevel: z.output<typeof schema>['log_level'];
  sources: Map<string, SourceConfig>;
  destinations: Map<string, DestinationConfig>;
  routes: RouteConfig[];
}

/** Flags that override the file (the CLI maps its options onto these). */
export interface Overrides {
  host?: string;
  port?: number;
  storage?: string;
  logLevel?: string;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Expands `${VAR}` and `${VAR:-default}` in every string value, naming the path on failure. */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${path || '(root)'}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, path ? `${path}.${k}` : k)]),
    );
  }
  return value;
}

function parseRate(rate: string): { limit: number; windowMs: number } {
  const [n = '0', unit] = rate.split('/');
  return {
    limit: Math.max(1, Math.floor(Number(n))),
    windowMs: unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : 1000,
  };
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('\n');
}

function toVerifierOptions(s: RawSource): VerifierOptions {
  const secret = s.secrets ?? s.secret ?? '';
  const tolerance = s.tolerance === undefined ? {} : { tolerance: s.tolerance / 1000 };
  switch (s.provider) {
    case 'github':
      return { provider: 'github', secret, allowSha1: s.allow_sha1 === true };
    case 'hmac':
      return {
        provider: 'hmac',
        secret,
        header: s.header ?? '',
        ...tolerance,
        ...(s.algorithm && { algorithm: s.algorithm }),
        ...(s.encoding && { encoding: s.encoding }),
        ...(s.prefix !== undefined && { prefix: s.prefix }),
        ...(s.timestamp_header && { timestampHeader: s.timestamp_header }),
        ...(s.id_header && { idHeader: s.id_header }),
        ...(s.template !== undefined && { template: s.template }),
      };
    default:
      return { provider: s.provider as 'stripe', secret, ...tolerance };
  }
}

/** Validates an already-parsed document (after env expansion) into a `Config`. */
export function resolveConfig(document: unknown, overrides: Overrides = {}): Config {
  const doc = (document ?? {}) as Record<string, unknown>;
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError('(root): expected a mapping');
  const server = { ...((doc.server as object | undefined) ?? {}) } as Record<string, unknown>;
  if (overrides.host !== undefined) server.host = overrides.host;
  if (overrides.port !== undefined) server.port = overrides.port;
  const merged = {
    ...doc,
    server,
    ...(overrides.storage !== undefined && { storage: overrides.storage }),
    ...(overrides.logLevel !== undefined && { log_level: overrides.logLevel }),
  };
  const parsed = schema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error));
  const c = parsed.data;
  const sources = new Map<string, SourceConfig>();
  for (const [name, raw] of Object.entries(c.sources)) {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) {
      throw new ConfigError(
        `sources.${name}: source names are URL path segments: letters, digits, _ and -`,
      );
    }
    const verifier = toVerifierOptions(raw);
    try {
      createVerifier(verifier); // refuses unusable secrets at start, not per request
    } catch (error) {
      throw new ConfigError(`sources.${name}: ${(error as Error).message}`);
    }
    sources.set(name, {
      name,
      provider: verifier.provider,
      verifier,
      ...(raw.id_header && { idHeader: raw.id_header.toLowerCase() }),
      ...(raw.type_path && { typePath: raw.type_path }),
    });
  }
  const destinations = new Map<string, DestinationConfig>();
  for (const [name, d] of Object.entries(c.destinations)) {
    const url = new URL(d.url);
    const unsafe = unsafeUrl(url);
    if (unsafe && !d.allow_unsafe_url) {
      throw new ConfigError(
        `destinations.${name}.url: refused, ${unsafe} (set allow_unsafe_url: true to allow)`,
      );
    }
    if (d.secret !== undefined && !/^(whsec_)?[A-Za-z0-9+/]+=*$/.test(d.secret)) {
      throw new ConfigError(`destinations.${name}.secret: expected whsec_ and base64`);
    }
    destinations.set(name, {
      name,
      url,
      ...(d.secret !== undefined && { secret: d.secret }),
      timeoutMs: d.timeout,
      maxAttempts: d.max_attempts,
      backoffBaseMs: d.backoff_base,
      backoffMaxMs: d.backoff_max,
      concurrency: d.concurrency,
      allowUnsafeUrl: d.allow_unsafe_url,
      ...(d.rate !== undefined && { rate: parseRate(d.rate) }),
      ...(d.ordering_key !== undefined && { orderingKey: d.ordering_key }),
    });
  }
  const routes: RouteConfig[] = c.routes.map((r, i) => {
    if (!sources.has(r.source))
      throw new ConfigError(`routes.${i}.source: no source named ${r.source}`);
    const to = typeof r.to === 'string' ? [r.to] : r.to;
    for (const d of to) {
      if (!destinations.has(d)) throw new ConfigError(`routes.${i}.to: no destination named ${d}`);
    }
    const events =
      r.events === undefined ? [] : typeof r.events === 'string' ? [r.events] : r.events;
    return { source: r.source, events, filter: r.filter ?? {}, to };
  });
  return {
    storage: c.storage,
    postgres: {
      pool: c.postgres.pool,
      connectTimeoutMs: c.postgres.connect_timeout,
      batchLingerMs: c.postgres.batch_linger,
    },
    retentionMs: c.retention === 'forever' ? null : c.retention,
    server: {
      host: c.server.host,
      port: c.server.port,
      bodyLimit: c.server.body_limit,
      headerTimeoutMs: c.server.header_timeout,
      requestTimeoutMs: c.server.request_timeout,
      maxConnections: c.server.max_connections,
      maxBytesInFlight: c.server.max_bytes_in_flight,
      refusalLogRate: c.server.refusal_log_rate,
      ...(c.server.tls && { tls: c.server.tls }),
    },
    api: c.api.token === undefined ? {} : { token: c.api.token },
    logLevel: c.log_level,
    sources,
    destinations,
    routes,
  };
}

export function parseConfigText(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Overrides = {},
): Config {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`not valid YAML: ${(error as Error).message}`);
  }
  return resolveConfig(expandEnv(document, env), overrides);
}

export function loadConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Overrides = {},
): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    return parseConfigText(text, env, overrides);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${path}: ${error.message}`);
    throw error;
  }
}
