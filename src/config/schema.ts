// Every option of `hookyard.yaml`, declared once: its YAML shape (snake_case), its description
// and default (`.meta()`, `.default()`, `.prefault()`), and the `.transform()` into the shape
// the code reads (camelCase, milliseconds, Maps). `Config` is this schema's output type;
// `hookyard.schema.json` and the README's option table are generated from it
// (scripts/config-schema.ts). Values reach it after `${VAR}` expansion (env.ts).
import { z } from 'zod';
import { JSON_PATH, JSON_PATH_EXPECTED } from '../json-path.ts';
import { unsafeUrl } from '../ssrf.ts';
import { createVerifier, PROVIDERS, type Provider, type VerifierOptions } from '../verify/index.ts';

/** `{ [key]: value }` when value is defined, else `{}`: an optional key that is absent, never
 * present and undefined (exactOptionalPropertyTypes). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** An error message that shows the value it refused. */
const got = (expected: string) => (issue: { input?: unknown }) =>
  `expected ${expected}; got ${JSON.stringify(issue.input) ?? String(issue.input)}`;

// Numbers, booleans, durations and sizes also take their string forms, because a value that
// comes from `${VAR}` is a string after expansion: `port: ${PORT}` must work.

/** An integer in [min, max], or a string of its digits. */
function integer(min: number, max: number) {
  const error = got(`an integer from ${min} to ${max}`);
  const range = z.number().int({ error }).min(min, { error }).max(max, { error });
  const digits = z.string().regex(/^\s*\d+\s*$/, { error });
  return z.union([range, digits.transform(Number).pipe(range)], { error });
}

/** true or false, or the same as a string. */
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
  error: got('true or false'),
});

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const UNITS_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
// No `i` flag: JSON Schema patterns carry no flags, and the editor must accept what this does.
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;
const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([bB]|[kKmMgG][bB])?\s*$/;

/** `10s`, `5m`, `6h`, `30d`, `250ms`, or a number of seconds → milliseconds. */
const duration = (() => {
  const error = got('a duration like 250ms, 10s, 5m, 6h, 30d, or a number of seconds');
  return z
    .union([z.number().min(0, { error }), z.string().regex(DURATION, { error })], { error })
    .transform((value) => {
      if (typeof value === 'number') return value * 1000;
      const [, n, unit = 's'] = DURATION.exec(value) as RegExpExecArray;
      return Number(n) * (UNITS_MS[unit] ?? 1000);
    });
})();

/** `5mb`, `512kb`, or a number of bytes. */
const size = (() => {
  const error = got('a size like 512kb, 5mb, or a number of bytes');
  return z
    .union([z.number().int({ error }).min(1, { error }), z.string().regex(SIZE, { error })], {
      error,
    })
    .transform((value) => {
      if (typeof value === 'number') return value;
      const [, n, unit = 'b'] = SIZE.exec(value) as RegExpExecArray;
      return Math.floor(Number(n) * (UNITS_BYTES[unit.toLowerCase()] ?? 1));
    });
})();

const secret = z
  .string()
  .min(1, 'must not be empty (did an environment variable expand to nothing?)');

const jsonPath = z.string().regex(JSON_PATH, JSON_PATH_EXPECTED);

// ─── Sources ────────────────────────────────────────────────────────────────────────────────

/** Options only the generic `hmac` provider takes. */
export const HMAC_ONLY = [
  'header',
  'algorithm',
  'encoding',
  'prefix',
  'timestamp_header',
  'type_path',
  'template',
] as const;

const sourceCommon = {
  secret: secret
    .exactOptional()
    .meta({ description: 'The signing secret. Give secret or secrets.' }),
  secrets: z
    .array(secret)
    .min(1)
    .exactOptional()
    .meta({ description: 'Several secrets, newest first, while a secret is being rotated.' }),
  tolerance: duration.exactOptional().meta({
    description:
      'How far a signed timestamp may be from now, in both directions, for schemes that sign a time; 0 turns the check off. The verifier’s default: 300 s.',
  }),
  allow_sha1: flag
    .exactOptional()
    .meta({ description: 'github: also accept the legacy SHA-1 `X-Hub-Signature` header.' }),
  public_key: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .exactOptional()
    .meta({
      description:
        'discord: the application’s Ed25519 public key (64 hex digits, from the Developer Portal), instead of a secret; a list while rotating.',
    }),
  id_header: z.string().min(1).exactOptional().meta({
    description:
      'hmac: the header holding the sender’s event id (the dedup key); without it, a SHA-256 of the body.',
  }),
};

const providerDescription = `The signature scheme: ${PROVIDERS.join(', ')}.`;

/** Exactly one of secret and secrets, for the editor; zod's check is the refinement on
 * sourceSchema. */
const ONE_SECRET = {
  oneOf: [{ required: ['secret'] }, { required: ['secrets'] }, { required: ['public_key'] }],
};

const presetSource = z
  .strictObject(
    {
      provider: z
        .enum(PROVIDERS.filter((p) => p !== 'hmac') as [Exclude<Provider, 'hmac'>])
        .meta({ description: providerDescription }),
      ...sourceCommon,
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys' &&
        issue.keys.every((k) => (HMAC_ONLY as readonly string[]).includes(k))
          ? `only the hmac provider takes ${issue.keys.join(', ')}`
          : undefined,
    },
  )
  .meta(ONE_SECRET);

const hmacSource = z
  .strictObject({
    provider: z.literal('hmac').meta({ description: providerDescription }),
    ...sourceCommon,
    header: z
      .string({
        error: (issue) =>
          issue.input === undefined ? 'the hmac provider needs a header' : undefined,
      })
      .min(1)
      .meta({ description: 'hmac: the header that carries the signature, e.g. `X-Signature`.' }),
    algorithm: z
      .enum(['sha1', 'sha256', 'sha512'])
      .exactOptional()
      .meta({ description: 'hmac: the digest; the verifier’s default: sha256.' }),
    encoding: z
      .enum(['hex', 'base64'])
      .exactOptional()
      .meta({ description: 'hmac: how the signature is written; the verifier’s default: hex.' }),
    prefix: z
      .string()
      .exactOptional()
      .meta({ description: 'hmac: text before the signature in the header, e.g. `sha256=`.' }),
    timestamp_header: z.string().min(1).exactOptional().meta({
      description: 'hmac: a header with the Unix-seconds time the sender signed (see tolerance).',
    }),
    type_path: jsonPath.exactOptional().meta({
      description: 'hmac: where the event type is in a JSON body, e.g. `$.event`.',
    }),
    template: z.string().exactOptional().meta({
      description:
        'hmac: the signed string: `{body}` once, optionally `{timestamp}` and `{id}`. Default `{body}`, or `{timestamp}.{body}` with a timestamp_header.',
    }),
  })
  .meta(ONE_SECRET);

type RawSource = z.output<typeof presetSource> | z.output<typeof hmacSource>;

function toVerifierOptions(s: RawSource): VerifierOptions {
  const secret = s.secrets ?? s.secret ?? '';
  const tolerance = opt('tolerance', s.tolerance === undefined ? undefined : s.tolerance / 1000);
  switch (s.provider) {
    case 'github':
      return { provider: 'github', secret, allowSha1: s.allow_sha1 === true };
    case 'discord':
      return { provider: 'discord', publicKey: s.public_key ?? '', ...tolerance };
    case 'hmac':
      return {
        provider: 'hmac',
        secret,
        header: s.header,
        ...tolerance,
        ...opt('algorithm', s.algorithm),
        ...opt('encoding', s.encoding),
        ...opt('prefix', s.prefix),
        ...opt('timestampHeader', s.timestamp_header || undefined),
        ...opt('idHeader', s.id_header || undefined),
        ...opt('template', s.template),
      };
    default:
      return { provider: s.provider, secret, ...tolerance };
  }
}

const sourceSchema = z
  .discriminatedUnion('provider', [presetSource, hmacSource], {
    error: (issue) =>
      issue.code === 'invalid_union' ? `expected one of ${PROVIDERS.join(', ')}` : undefined,
  })
  .superRefine((s, ctx) => {
    if (s.provider === 'discord') {
      // Discord signs with Ed25519: the gateway holds the public key, never a secret.
      if (s.public_key === undefined || s.secret !== undefined || s.secrets !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'discord takes public_key, not secret(s)' });
      }
    } else if (s.public_key !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'only the discord provider takes public_key' });
    } else if ((s.secret === undefined) === (s.secrets === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of secret or secrets' });
    }
  })
  .transform((s, ctx) => {
    const verifier = toVerifierOptions(s);
    try {
      createVerifier(verifier); // refuses unusable secrets at start, not per request
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
    return {
      provider: verifier.provider,
      verifier,
      ...opt('idHeader', s.id_header?.toLowerCase() || undefined),
      ...opt('typePath', (s.provider === 'hmac' && s.type_path) || undefined),
    };
  });

// ─── Destinations ───────────────────────────────────────────────────────────────────────────

/** Retry and concurrency options: destinations take them, and `yard.on` handlers default to
 * the same values (DELIVERY_DEFAULTS). */
const deliveryShape = {
  max_attempts: integer(1, 1000)
    .prefault(12)
    .meta({ description: 'Attempts before a delivery is dead.' }),
  backoff_base: duration.prefault('5s').meta({
    description:
      'Retry n waits a random point in [d/2, d], d = min(backoff_max, backoff_base·2^(n−1)).',
  }),
  backoff_max: duration
    .prefault('6h')
    .meta({ description: 'The longest wait between attempts; caps a `Retry-After` too.' }),
  concurrency: integer(1, 1000)
    .prefault(10)
    .meta({ description: 'Attempts in flight at once to this destination.' }),
};

const deliveryOptions = (d: {
  max_attempts: number;
  backoff_base: number;
  backoff_max: number;
  concurrency: number;
}) => ({
  maxAttempts: d.max_attempts,
  backoffBaseMs: d.backoff_base,
  backoffMaxMs: d.backoff_max,
  concurrency: d.concurrency,
});

/** The retry defaults, for deliveries to in-process handlers (library.ts). */
export const DELIVERY_DEFAULTS = deliveryOptions(z.strictObject(deliveryShape).parse({}));

const RATE = /^[1-9]\d{0,5}\/(s|m|h)$/;

function parseRate(rate: string): { limit: number; windowMs: number } {
  const [n = '0', unit] = rate.split('/');
  return {
    limit: Math.max(1, Math.floor(Number(n))),
    windowMs: unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : 1000,
  };
}

/** A destination's options: `destinations.<name>`, and the notification endpoint's (notify). */
const destinationShape = {
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).meta({
    description: 'Where events are POSTed; http(s) only (see allow_unsafe_url).',
    // The protocol check, for the editor (`format: uri` takes any scheme).
    pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
  }),
  secret: secret
    .regex(/^(whsec_)?[A-Za-z0-9+/]+=*$/, 'expected whsec_ and base64')
    .exactOptional()
    .meta({
      description:
        '`whsec_…` key deliveries are signed with (Standard Webhooks `webhook-signature`).',
    }),
  timeout: duration.prefault('10s').meta({
    description: 'Time for a whole attempt: connect, send, response headers and body.',
  }),
  ...deliveryShape,
  allow_unsafe_url: flag.prefault(false).meta({
    description: 'Allow link-local and cloud-metadata addresses (refused by default: SSRF).',
  }),
  rate: z.string().regex(RATE, 'expected a rate like 50/s, 600/m or 1000/h').exactOptional().meta({
    description:
      'Most attempts started in any second, minute or hour: `50/s`, `600/m`, `1000/h` (per process).',
  }),
  ordering_key: jsonPath.exactOptional().meta({
    description:
      'A path into the payload (`$.data.object.id`): deliveries with the same value reach this destination one at a time, in arrival order.',
  }),
};

type RawDestination = z.output<z.ZodObject<typeof destinationShape>>;

function toDestination(
  d: Omit<RawDestination, 'ordering_key'> & Partial<RawDestination>,
  ctx: z.RefinementCtx,
) {
  const url = new URL(d.url);
  const unsafe = unsafeUrl(url);
  if (unsafe && !d.allow_unsafe_url) {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: `refused, ${unsafe} (set allow_unsafe_url: true to allow)`,
    });
    return z.NEVER;
  }
  return {
    url,
    ...opt('secret', d.secret),
    timeoutMs: d.timeout,
    ...deliveryOptions(d),
    allowUnsafeUrl: d.allow_unsafe_url,
    ...opt('rate', d.rate === undefined ? undefined : parseRate(d.rate)),
    ...opt('orderingKey', d.ordering_key),
  };
}

const destinationSchema = z.strictObject(destinationShape).transform(toDestination);

// ─── Operational notifications ──────────────────────────────────────────────────────────────

/** What `notify` can tell (src/notify/). */
export const NOTIFY_EVENTS = [
  'delivery.dead',
  'destination.failing',
  'destination.recovered',
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];
/** The internal destination notifications are delivered through, and the source their events
 * are stored under. A source name never has a dot (SOURCE_NAME): no configured source can be
 * it; a destination of that name is refused while notify is set. */
export const NOTIFY_DESTINATION = 'hookyard.notify';
export const NOTIFY_SOURCE = 'hookyard.notify';

// No ordering_key: notifications about one destination are ordered by the notifier itself.
const notifyDestinationShape = z.strictObject(destinationShape).omit({ ordering_key: true }).shape;

const notifySchema = z
  .strictObject({
    ...notifyDestinationShape,
    url: notifyDestinationShape.url.meta({
      description:
        'Where operational notifications are POSTed: a Standard Webhooks endpoint, or a Slack incoming webhook (format: slack).',
      pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
    }),
    secret: notifyDestinationShape.secret.meta({
      description:
        '`whsec_…` key messages are signed with (Standard Webhooks); required unless format is slack.',
    }),
    events: z
      .array(z.enum(NOTIFY_EVENTS))
      .min(1)
      .prefault([...NOTIFY_EVENTS])
      .meta({ description: `What to tell: ${NOTIFY_EVENTS.join(', ')}; default all.` }),
    format: z.enum(['standard-webhooks', 'slack']).prefault('standard-webhooks').meta({
      description:
        '`standard-webhooks`: signed `{type, timestamp, data}` JSON; `slack`: a Slack incoming-webhook message (`{text}`).',
    }),
    failing_after: integer(1, 1000).prefault(5).meta({
      description:
        'A destination is failing after this many attempts in a row failed (destination.failing, once), and recovered at its next delivered attempt (destination.recovered, once).',
    }),
    interval: duration.prefault('1m').meta({
      description:
        'delivery.dead is rate-limited per interval: the first `burst` one by one, then one summary per interval with the count.',
    }),
    burst: integer(0, 1000).prefault(5).meta({
      description: 'delivery.dead messages sent one by one per interval before summaries.',
    }),
  })
  .superRefine((n, ctx) => {
    if (n.format === 'standard-webhooks' && n.secret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message: 'Standard Webhooks messages are signed: give a secret (or format: slack)',
      });
    }
  })
  .transform((n, ctx) => {
    const { events, format, failing_after, interval, burst, ...endpoint } = n;
    const destination = toDestination(endpoint, ctx);
    return {
      destination,
      events: [...new Set(events)],
      format,
      failingAfter: failing_after,
      intervalMs: Math.max(1, interval),
      burst,
    };
  });

// ─── Routes ─────────────────────────────────────────────────────────────────────────────────

export const OPERATORS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists'];

const bound = z.union([z.number(), z.string()]).exactOptional();
const operators = z.strictObject(
  {
    $eq: z.unknown().exactOptional(),
    $ne: z.unknown().exactOptional(),
    $gt: bound,
    $gte: bound,
    $lt: bound,
    $lte: bound,
    $in: z.array(z.unknown(), { error: '$in takes a list' }).exactOptional(),
    $nin: z.array(z.unknown(), { error: '$nin takes a list' }).exactOptional(),
    $exists: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
        error: '$exists takes true or false',
      })
      .exactOptional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown operator ${issue.keys.join(', ')}; use ${OPERATORS.join(' ')}`
        : undefined,
  },
);

/** A route filter's condition: a value (equality) or operators (the grammar is in
 * delivery/router.ts). */
const conditionSchema = z.union([z.string(), z.number(), z.boolean(), z.null(), operators], {
  // An object that is not a set of operators: say what is wrong with it (the last branch).
  error: (issue) =>
    issue.code === 'invalid_union' && typeof issue.input === 'object'
      ? issue.errors.at(-1)?.[0]?.message
      : undefined,
});

export type Condition = z.output<typeof conditionSchema>;

const list = (item: z.ZodString) =>
  z.union([item, z.array(item)]).transform((v) => (typeof v === 'string' ? [v] : v));

const routeSchema = z
  .strictObject({
    source: z.string().meta({ description: 'The source whose events this route takes.' }),
    events: list(z.string()).exactOptional().meta({
      description: 'Event-type globs (`*` matches any run of characters); omitted: every type.',
    }),
    filter: z
      .record(z.string().regex(JSON_PATH, `filter keys: ${JSON_PATH_EXPECTED}`), conditionSchema)
      .exactOptional()
      .meta({
        description:
          'Paths into the payload (`$.a.b`; a number indexes an array) mapped to a value or to operators $eq $ne $gt $gte $lt $lte $in $nin $exists; all must hold.',
      }),
    to: z
      .union([z.string(), z.array(z.string()).min(1)])
      .transform((v) => (typeof v === 'string' ? [v] : v))
      .meta({ description: 'The destination, or several, that matching events are delivered to.' }),
  })
  .transform((r) => ({
    source: r.source,
    events: r.events ?? [],
    filter: r.filter ?? {},
    to: r.to,
  }));

export type RouteConfig = z.output<typeof routeSchema>;

// ─── The file ───────────────────────────────────────────────────────────────────────────────

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const SOURCE_NAME = /^[A-Za-z0-9_-]+$/;

/** `{ name } & T` as one object type (what editors show on hover). */
type Named<T> = { [K in keyof ({ name: string } & T)]: ({ name: string } & T)[K] };

/** A record's entries as a Map, each value with its key as `name`. */
function named<T extends object>(record: Record<string, T>): Map<string, Named<T>> {
  return new Map(
    Object.entries(record).map(([name, value]) => [name, { name, ...value } as Named<T>]),
  );
}

export const configSchema = z
  .strictObject({
    storage: z.string().default('sqlite:./.hookyard/hookyard.db').meta({
      description:
        'Where events are stored: `sqlite:<path>` (one gateway process per file) or `postgres://user:pass@host:5432/db` (any number of processes).',
    }),
    postgres: z
      .strictObject({
        pool: integer(1, 1000)
          .prefault(10)
          .meta({ description: 'Connections in each gateway process’s pool.' }),
        connect_timeout: duration.prefault('5s').meta({
          description: 'How long a request waits for a connection before it is answered 503.',
        }),
        batch_linger: duration.prefault('0ms').meta({
          description:
            'How long a lone event may wait for others to share its transaction while the last batch had company; 0: never. Less CPU per event at a moderate load, less throughput at saturation (bench/README.md).',
        }),
      })
      .prefault({})
      .meta({ description: 'PostgreSQL only: the connection pool and batching per process.' }),
    retention: z
      .union([z.literal('forever'), duration], {
        error: got('a duration like 30d, or forever'),
      })
      .prefault('30d')
      .meta({
        description:
          'Events older than this are pruned in the background, with their deliveries and attempts; `forever` keeps everything.',
      }),
    search: z
      .strictObject({
        enabled: flag.prefault(true).meta({
          description:
            'Index events for search. Off: nothing new is indexed, and a search finds only what was indexed before.',
        }),
        interval: duration.prefault('250ms').meta({
          description:
            'How often the indexer looks for new events once caught up: about how far search trails a gateway that is not busy.',
        }),
      })
      .prefault({})
      .meta({
        description:
          'Search (`q=` of GET /api/events), indexed after the commit. A saturated gateway gives indexing about 2% of its time: the index falls behind, then catches up.',
      }),
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1').meta({ description: 'The address to listen on.' }),
        port: integer(0, 65535)
          .prefault(8787)
          .meta({ description: 'The port to listen on; 0 picks a free one.' }),
        body_limit: size.prefault('5mb').meta({
          description: 'The largest accepted body; refused with 413 while still streaming.',
        }),
        header_timeout: duration.prefault('10s').meta({
          description: 'Time allowed for a client to send all request headers.',
        }),
        request_timeout: duration.prefault('30s').meta({
          description: 'Time allowed for a whole request, body included (slow senders get 408).',
        }),
        max_connections: integer(1, 1_000_000).prefault(1000).meta({
          description:
            'Open connections at once; past it new ones are closed at once (the kernel backlog holds the rest).',
        }),
        max_bytes_in_flight: size.prefault('64mb').meta({
          description:
            'Request body bytes being read or waiting for their commit, across every request; a request that would pass it gets 503 + Retry-After.',
        }),
        refusal_log_rate: integer(0, 100_000).prefault(20).meta({
          description:
            'Refusal log lines per second; past it refusals are counted, and one line per interval says how many were left out.',
        }),
        tls: z
          .strictObject({
            cert: z.string().min(1).meta({ description: 'The PEM certificate (chain) file.' }),
            key: z.string().min(1).meta({ description: 'The PEM private key file.' }),
          })
          .exactOptional()
          .meta({
            description:
              'HTTPS without a proxy: PEM files, read at start and again whenever either changes (renewal needs no restart).',
          }),
        admin: z
          .strictObject({
            host: z.string().prefault('127.0.0.1').meta({ description: 'The admin address.' }),
            port: integer(0, 65535).meta({ description: 'The admin port (0: any free one).' }),
          })
          .exactOptional()
          .meta({
            description:
              'A second, internal listener for the API, stream, dashboard and metrics; the public one then serves only /webhooks/* and /healthz.',
          }),
      })
      .prefault({})
      .meta({ description: 'The HTTP listener.' }),
    api: z
      .strictObject({
        token: secret.exactOptional().meta({
          description: 'Bearer token for /api. Without one, the API refuses every request.',
        }),
      })
      .prefault({})
      .meta({ description: 'The REST API under /api.' }),
    metrics: z
      .strictObject({
        enabled: flag.prefault(true).meta({
          description:
            'Serve GET /metrics (Prometheus text format). Off: the route answers 404 and nothing is counted.',
        }),
        public: flag.prefault(false).meta({
          description:
            'Serve /metrics without the API token. Only on an internal address: put it on server.admin.',
        }),
      })
      .prefault({})
      .meta({
        description:
          'Prometheus metrics at GET /metrics (on server.admin when set), behind the API token unless public.',
      }),
    notify: notifySchema.exactOptional().meta({
      description:
        'Operational notifications (dead deliveries, a destination failing and recovering) POSTed to one endpoint through the delivery engine: stored, signed, retried like any delivery; deduplicated and rate-limited.',
    }),
    log_level: z
      .enum(LOG_LEVELS)
      .default('info')
      .meta({ description: `The log level: ${LOG_LEVELS.join(', ')}.` }),
    sources: z
      .record(
        z
          .string()
          .regex(SOURCE_NAME, 'source names are URL path segments: letters, digits, _ and -'),
        sourceSchema,
      )
      .default({})
      .meta({
        description:
          'Senders, by name: each is served at `POST /webhooks/<name>` (letters, digits, _ and -).',
      }),
    destinations: z
      .record(z.string(), destinationSchema)
      .default({})
      .meta({ description: 'HTTP endpoints events are delivered to, by name.' }),
    routes: z.array(routeSchema).default([]).meta({
      description: 'Which events go to which destinations; an event may match several routes.',
    }),
  })
  .meta({
    title: 'Hookyard configuration',
    description:
      'hookyard.yaml. `${VAR}` and `${VAR:-default}` in any value expand from the environment before the file is checked.',
  })
  .transform((c, ctx) => {
    const sources = named(c.sources);
    const destinations = named(c.destinations);
    if (c.notify && destinations.has(NOTIFY_DESTINATION)) {
      ctx.addIssue({
        code: 'custom',
        path: ['destinations', NOTIFY_DESTINATION],
        message: `${NOTIFY_DESTINATION} is the notify endpoint's own name`,
      });
    }
    c.routes.forEach((r, i) => {
      if (!sources.has(r.source)) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'source'],
          message: `no source named ${r.source}`,
        });
      }
      for (const d of r.to) {
        if (!destinations.has(d)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'to'],
            message: `no destination named ${d}`,
          });
        }
      }
    });
    return {
      storage: c.storage,
      postgres: {
        pool: c.postgres.pool,
        connectTimeoutMs: c.postgres.connect_timeout,
        batchLingerMs: c.postgres.batch_linger,
      },
      /** Null: keep events forever. */
      retentionMs: c.retention === 'forever' ? null : c.retention,
      search: { enabled: c.search.enabled, intervalMs: c.search.interval },
      server: {
        host: c.server.host,
        port: c.server.port,
        bodyLimit: c.server.body_limit,
        headerTimeoutMs: c.server.header_timeout,
        requestTimeoutMs: c.server.request_timeout,
        maxConnections: c.server.max_connections,
        maxBytesInFlight: c.server.max_bytes_in_flight,
        refusalLogRate: c.server.refusal_log_rate,
        ...opt('tls', c.server.tls),
        ...opt('admin', c.server.admin),
      },
      api: { ...opt('token', c.api.token) },
      metrics: { enabled: c.metrics.enabled, public: c.metrics.public },
      /** Operational notifications; the endpoint is a destination named NOTIFY_DESTINATION. */
      notify: c.notify && {
        ...c.notify,
        destination: { name: NOTIFY_DESTINATION, ...c.notify.destination },
      },
      logLevel: c.log_level,
      sources,
      destinations,
      routes: c.routes,
    };
  });

/** The validated configuration the engine, the gateway and the CLI read. */
export type Config = z.output<typeof configSchema>;
/** What `hookyard.yaml` (or `createHookyard`'s document) may hold, before validation. */
export type ConfigInput = z.input<typeof configSchema>;
export type SourceConfig = Config['sources'] extends Map<string, infer S> ? S : never;
export type DestinationConfig = Config['destinations'] extends Map<string, infer D> ? D : never;
export type LogLevel = Config['logLevel'];
