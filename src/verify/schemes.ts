import { utf8 } from './encoding.ts';
import { VerifierConfigError, WebhookVerificationError } from './errors.ts';
import { type DiscordOptions, discord } from './discord.ts';
import { type GitHubOptions, github } from './github.ts';
import { type HmacOptions, hmac } from './hmac.ts';
import { type ShopifyOptions, shopify } from './shopify.ts';
import { type SlackOptions, slack } from './slack.ts';
import { type StandardWebhooksOptions, standardWebhooks } from './standard-webhooks.ts';
import { type StripeOptions, stripe } from './stripe.ts';
import { type ZoomOptions, zoom } from './zoom.ts';
import { kindOf, refuse } from './kit.ts';
import type { Plan, Scheme, Verified, VerifyInput, VerifyResult } from './types.ts';

export type VerifierOptions =
  | ({ provider: 'stripe' } & StripeOptions)
  | ({ provider: 'github' } & GitHubOptions)
  | ({ provider: 'slack' } & SlackOptions)
  | ({ provider: 'standard-webhooks' } & StandardWebhooksOptions)
  | ({ provider: 'shopify' } & ShopifyOptions)
  | ({ provider: 'discord' } & DiscordOptions)
  | ({ provider: 'zoom' } & ZoomOptions)
  | ({ provider: 'hmac' } & HmacOptions);

export type Provider = VerifierOptions['provider'];

/** Each provider's scheme, typed against the options union: adding a provider to
 * VerifierOptions without its scheme here does not compile. */
const SCHEMES: { [P in Provider]: (options: Extract<VerifierOptions, { provider: P }>) => Scheme } =
  {
    stripe,
    github,
    slack,
    'standard-webhooks': standardWebhooks,
    shopify,
    discord,
    zoom,
    hmac,
  };

export const PROVIDERS = Object.keys(SCHEMES) as readonly Provider[];

export function createScheme(options: VerifierOptions): Scheme {
  // Options often come from untyped sources (YAML, env, JavaScript callers): a wrong shape is
  // a VerifierConfigError with a code, never a TypeError from deep inside a scheme.
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new VerifierConfigError(`verifier options must be an object, got ${kindOf(options)}`);
  }
  const provider: unknown = (options as { provider: unknown }).provider;
  if (typeof provider !== 'string' || !Object.hasOwn(SCHEMES, provider)) {
    const named = typeof provider === 'string' ? JSON.stringify(provider) : kindOf(provider);
    throw new VerifierConfigError(`unknown provider ${named} (one of ${PROVIDERS.join(', ')})`);
  }
  return (SCHEMES[options.provider] as (options: VerifierOptions) => Scheme)(options);
}

/**
 * Runs the scheme's parsing on a request; the crypto is the caller's (node or web). The input
 * is checked first: `verify()` promises an answer, never an exception, whatever it is given.
 */
export function planFor(scheme: Scheme, input: VerifyInput): Plan {
  if (typeof input !== 'object' || input === null) {
    return refuse(`verify() takes { body, headers }, got ${kindOf(input)}`);
  }
  const { headers, now } = input as Partial<VerifyInput>;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    return refuse(`headers must be a Headers or a record of header values, got ${kindOf(headers)}`);
  }
  // A NaN `now` would make every timestamp look in tolerance (NaN > tolerance is false).
  if (now !== undefined && (typeof now !== 'number' || !Number.isFinite(now))) {
    return refuse('now must be a finite number of Unix milliseconds');
  }
  const raw: unknown = input.body;
  const body = typeof raw === 'string' ? utf8(raw) : raw;
  if (!(body instanceof Uint8Array)) return refuse('body is not bytes or a string');
  return scheme.plan(body, headers);
}

/**
 * Turns "which secret matched" (-1 for none) into the result, holding the signed timestamp
 * against the tolerance in both directions — only once the signature holds, so a stale but
 * genuine request is told apart from a forged one.
 */
export function conclude(
  scheme: Scheme,
  plan: Plan & { ok: true },
  secretIndex: number,
  now: number | undefined,
): VerifyResult {
  if (secretIndex < 0) {
    return {
      ok: false,
      error: new WebhookVerificationError(
        'signature_invalid',
        'no signature matches the configured secret',
      ),
    };
  }
  const verified: Verified = { ok: true, secretIndex };
  if (plan.timestamp !== undefined) {
    verified.timestamp = plan.timestamp;
    if (scheme.tolerance > 0) {
      const skew = Math.abs((now ?? Date.now()) / 1000 - plan.timestamp);
      if (skew > scheme.tolerance) {
        return {
          ok: false,
          error: new WebhookVerificationError(
            'timestamp_out_of_tolerance',
            `timestamp is ${Math.round(skew)} s away from now (tolerance ${scheme.tolerance} s)`,
          ),
        };
      }
    }
  }
  return verified;
}

export function raise(result: VerifyResult): Verified {
  if (!result.ok) throw result.error;
  return result;
}
