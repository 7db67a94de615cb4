// `hookyard send`: posts correctly signed, realistic test events (like `stripe trigger`, for
// every provider, offline). What it signs is what each provider's official library accepts
// (test/cli/send.test.ts), so the gateway's answer is about the gateway, not the request.
import { readFile } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { sign as signDiscord, discordPublicKey } from '../../verify/discord.ts';
import { sign as signGitHub } from '../../verify/github.ts';
import { type HmacOptions, sign as signHmac } from '../../verify/hmac.ts';
import { PROVIDERS, type Provider } from '../../verify/index.ts';
import { nodeSigner } from '../../verify/node.ts';
import { sign as signShopify } from '../../verify/shopify.ts';
import { sign as signSlack } from '../../verify/slack.ts';
import {
  sign as signStandardWebhooks,
  standardWebhooksPublicKey,
} from '../../verify/standard-webhooks.ts';
import { sign as signStripe } from '../../verify/stripe.ts';
import { sign as signZoom } from '../../verify/zoom.ts';
import { FIXTURES } from '../fixtures/index.ts';
import { DEFAULT_HMAC, hmacArgs, hmacOptions, providerArg } from '../hmac-args.ts';
import {
  CommandError,
  defineCommand,
  gatewayUrl,
  type Io,
  jsonArg,
  positiveInteger,
  UsageError,
} from '../io.ts';

export interface SendOptions {
  provider: Provider;
  secret: string;
  /** A fixture name of the provider; its default when absent. */
  event?: string;
  /** Your own body, sent byte for byte instead of the fixture's. */
  data?: Uint8Array;
  /** Unix seconds to sign with; now when absent. */
  now?: number;
  /** For the generic hmac provider: how the source is configured. */
  hmac?: Omit<HmacOptions, 'secret'>;
}

export interface SignedRequest {
  event: string;
  body: Uint8Array;
  headers: Record<string, string>;
}

/** The example config's `custom` source: what `send --provider hmac` signs for by default. */

const encoder = new TextEncoder();

/** One signed request: a fresh fixture (new ids, now) or `data`, with the provider's headers. */
export function signedRequest(options: SendOptions): SignedRequest {
  const fixtures = FIXTURES[options.provider];
  const event = options.event ?? fixtures.defaultEvent;
  const make = Object.hasOwn(fixtures.events, event) ? fixtures.events[event] : undefined;
  if (make === undefined && options.data === undefined) {
    throw new UsageError(
      `--event: no built-in ${options.provider} event ${JSON.stringify(event)} (one of ${Object.keys(fixtures.events).join(', ')}; or give --data)`,
    );
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const fixture = (make ?? (fixtures.events[fixtures.defaultEvent] as NonNullable<typeof make>))({
    now,
  });
  const body =
    options.data ??
    encoder.encode(typeof fixture.body === 'string' ? fixture.body : JSON.stringify(fixture.body));
  const headers: Record<string, string> = {
    'content-type': fixture.contentType ?? 'application/json',
    ...fixture.headers,
  };
  const secret = options.secret;
  let signed: Record<string, string>;
  try {
    signed = sign(options, secret, body, now, headers);
  } catch (error) {
    // A VerifierConfigError: the secret cannot sign for this provider (a bad whsec_, a
    // Discord key that is not 64 hex digits). Its message never holds the secret.
    throw new UsageError(`--secret: ${(error as Error).message}`);
  }
  return { event, body, headers: { ...headers, ...signed } };
}

function sign(
  options: SendOptions,
  secret: string,
  body: Uint8Array,
  timestamp: number,
  headers: Record<string, string>,
): Record<string, string> {
  switch (options.provider) {
    case 'stripe':
      return signStripe({ secret, body, timestamp }, nodeSigner);
    case 'github':
      return signGitHub({ secret, body }, nodeSigner);
    case 'slack':
      return signSlack({ secret, body, timestamp }, nodeSigner);
    case 'shopify':
      return signShopify({ secret, body }, nodeSigner);
    case 'standard-webhooks':
      return signStandardWebhooks(
        { secret, id: `msg_${randomBytes(12).toString('base64url')}`, timestamp, body },
        nodeSigner,
      );
    case 'discord':
      return signDiscord({ privateKey: secret, body, timestamp }, nodeSigner);
    case 'zoom':
      return signZoom({ secret, body, timestamp }, nodeSigner);
    case 'hmac': {
      const hmac = { ...DEFAULT_HMAC, ...options.hmac };
      const idHeader = hmac.idHeader?.toLowerCase();
      const id = (idHeader && headers[idHeader]) || randomUUID();
      return signHmac({ options: { ...hmac, secret }, body, timestamp, id }, nodeSigner);
    }
  }
}

async function readData(path: string, io: Io): Promise<Uint8Array> {
  if (path === '-') {
    if (!io.stdin) throw new UsageError('--data -: no standard input');
    const chunks: Uint8Array[] = [];
    for await (const chunk of io.stdin) {
      chunks.push(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
    }
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(resolve(io.cwd ?? process.cwd(), path));
  } catch (error) {
    throw new CommandError(
      `--data: cannot read ${path}: ${(error as { code?: string }).code ?? error}`,
    );
  }
}

export const sendCommand = defineCommand({
  meta: {
    name: 'send',
    description: 'post a signed, realistic test event to a gateway or any URL',
  },
  args: {
    target: {
      type: 'positional',
      required: false,
      valueHint: 'url',
      description: 'where to POST (default: <--url>/webhooks/<--source or --provider>)',
    },
    provider: {
      type: 'string',
      required: true,
      valueHint: 'provider',
      description: `the signature scheme and fixtures: ${PROVIDERS.join(', ')}`,
    },
    event: {
      type: 'string',
      valueHint: 'type',
      description: 'a built-in event (default: the provider’s first)',
    },
    secret: {
      type: 'string',
      required: true,
      valueHint: 'secret',
      description:
        'the source’s secret (discord: the application’s Ed25519 private key, 64 hex digits; standard-webhooks: whsec_… or whsk_…)',
    },
    data: { type: 'string', valueHint: 'file|-', description: 'your own body, sent byte for byte' },
    count: { type: 'string', valueHint: 'n', description: 'how many events to send (default 1)' },
    source: {
      type: 'string',
      valueHint: 'name',
      description: 'the source name in the default URL (default: the provider)',
    },
    url: {
      type: 'string',
      valueHint: 'url',
      description: 'the gateway (env HOOKYARD_URL; default http://127.0.0.1:8787)',
    },
    ...hmacArgs,
    'id-header': {
      type: 'string',
      valueHint: 'name',
      description: 'hmac: the event id header (default X-Event-Id)',
    },
    ...jsonArg,
  },
  notes: `Events: ${Object.entries(FIXTURES)
    .map(([p, f]) => `\n  ${p}: ${Object.keys(f.events).join(', ')}`)
    .join('')}

Prints one line per send (status, time); --json prints one JSON object per line. Exits 1
when any send was not answered 2xx.
`,
  async run({ args, io }) {
    const provider = providerArg(args.provider);
    if (args.secret === '') throw new UsageError('--secret: must not be empty');
    const count = positiveInteger(args.count, '--count', 1);
    const target = (() => {
      if (args.target === undefined) {
        const base = gatewayUrl(args.url, io.env);
        return new URL(
          `webhooks/${encodeURIComponent(args.source ?? provider)}`,
          `${base.href.replace(/\/$/, '')}/`,
        );
      }
      try {
        return new URL(args.target);
      } catch {
        throw new UsageError(`url: not a URL: ${JSON.stringify(args.target)}`);
      }
    })();
    const hmac: Omit<HmacOptions, 'secret'> = {
      ...hmacOptions(args),
      idHeader: args['id-header'] ?? (DEFAULT_HMAC.idHeader as string),
    };
    const data = args.data === undefined ? undefined : await readData(args.data, io);
    const base = {
      provider,
      secret: args.secret,
      ...(args.event !== undefined && { event: args.event }),
      ...(data !== undefined && { data }),
      hmac,
    };
    signedRequest(base); // usage errors (unknown event, unusable secret) before any send
    if (!args.json) {
      // The keys to configure on the receiving side are public: say them.
      if (provider === 'discord')
        io.stderr.write(`discord public_key: ${discordPublicKey(args.secret, nodeSigner)}\n`);
      if (provider === 'standard-webhooks' && args.secret.startsWith('whsk_')) {
        io.stderr.write(
          `standard-webhooks public key: ${standardWebhooksPublicKey(args.secret, nodeSigner)}\n`,
        );
      }
    }
    let refused = 0;
    for (let n = 0; n < count; n++) {
      const request = signedRequest(base);
      const started = performance.now();
      let status: number | null = null;
      let response = '';
      let error: string | null = null;
      try {
        const res = await fetch(target, {
          method: 'POST',
          headers: request.headers,
          body: new Uint8Array(request.body),
        });
        status = res.status;
        response = (await res.text()).slice(0, 500);
      } catch (e) {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        error = cause?.code ?? cause?.message ?? String(e);
      }
      const ms = Math.round((performance.now() - started) * 10) / 10;
      if (status === null || status < 200 || status >= 300) refused++;
      if (args.json) {
        io.stdout.write(
          `${JSON.stringify({ status, ms, provider, event: request.event, url: target.href, response, error })}\n`,
        );
      } else {
        const what = status === null ? `error ${error}` : String(status);
        io.stdout.write(
          `${what}  ${ms} ms  ${provider} ${request.event}  ${response.replace(/\s+/g, ' ').slice(0, 120)}\n`,
        );
      }
    }
    if (refused > 0 && !args.json)
      io.stderr.write(`hookyard send: ${refused} of ${count} not accepted\n`);
    return refused > 0 ? 1 : 0;
  },
});
