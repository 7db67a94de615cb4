import { utf8 } from './encoding.ts';
import { VerifierConfigError, WebhookVerificationError } from './errors.ts';
import { type GitHubOptions, github } from './github.ts';
import { type HmacOptions, hmac } from './hmac.ts';
import { type ShopifyOptions, shopify } from './shopify.ts';
import { type SlackOptions, slack } from './slack.ts';
import { type StandardWebhooksOptions, standardWebhooks } from './standard-webhooks.ts';
import { type StripeOptions, stripe } from './stripe.ts';
import type { Plan, Scheme, Verified, VerifyInput, VerifyResult } from './types.ts';

export type VerifierOptions =
  | ({ provider: 'stripe' } & StripeOptions)
  | ({ provider: 'github' } & GitHubOptions)
  | ({ provider: 'slack' } & SlackOptions)
  | ({ provider: 'standard-webhooks' } & StandardWebhooksOptions)
  | ({ provider: 'shopify' } & ShopifyOptions)
  | ({ provider: 'hmac' } & HmacOptions);

export type Provider = VerifierOptions['provider'];

export const PROVIDERS: readonly Provider[] = [
  'stripe',
  'github',
  'slack',
  'standard-webhooks',
  'shopify',
  'hmac',
];

export function createScheme(options: VerifierOptions): Scheme {
  switch (options.provider) {
    case 'stripe':
      return stripe(options);
    case 'github':
      return github(options);
    case 'slack':
      return slack(options);
    case 'standard-webhooks':
      return standardWebhooks(options);
    case 'shopify':
      return shopify(options);
    case 'hmac':
      return hmac(options);
    default:
      throw new VerifierConfigError(
        `unknown provider ${String((options as { provider: unknown }).provider)}`,
      );
  }
}

/** Runs the scheme's parsing on a request; the crypto is the caller's (node or web). */
export function planFor(scheme: Scheme, input: VerifyInput): Plan {
  const body = typeof input.body === 'string' ? utf8(input.body) : input.body;
  if (!(body instanceof Uint8Array)) {
    return {
      ok: false,
      error: new WebhookVerificationError('signature_invalid', 'body is not bytes or a string'),
    };
  }
  return scheme.plan(body, input.headers);
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
