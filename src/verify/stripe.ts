// Stripe: `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over `${t}.${body}`
// keyed by the whole `whsec_…` string as UTF-8 (not base64-decoded). Any v1 may match; v0 and
// unknown keys are ignored, as stripe-node does. https://docs.stripe.com/webhooks#verify-manually
// More than MAX_SIGNATURES_PER_HEADER `v1` entries refuse the header (Stripe sends one per
// active endpoint secret, two while a rolled secret is still valid).
import { fromHex, toHex, utf8 } from './encoding.ts';
import {
  header,
  MAX_SIGNATURES_PER_HEADER,
  parseTimestamp,
  refuse,
  secretList,
  toleranceOf,
  tooManySignatures,
} from './kit.ts';
import type { Scheme, SignedHeaders, Signer } from './types.ts';

export interface StripeOptions {
  secret: string | readonly string[];
  /** Seconds, both directions; default 300 (stripe-node's). 0 turns the check off. */
  tolerance?: number;
}

export function stripe(options: StripeOptions): Scheme {
  const keys = secretList('stripe', options.secret).map(utf8);
  return {
    provider: 'stripe',
    tolerance: toleranceOf(options.tolerance, 300),
    plan(body, headers) {
      const h = header(headers, 'stripe-signature');
      if (!h.ok) return h.plan;
      if (!h.value) return refuse('missing Stripe-Signature header');
      let t: string | undefined;
      const signatures: Uint8Array[] = [];
      let candidates = 0;
      for (const item of h.value.split(',')) {
        const eq = item.indexOf('=');
        if (eq < 0) continue;
        const key = item.slice(0, eq).trim();
        const value = item.slice(eq + 1).trim();
        if (key === 't') {
          if (t !== undefined) return refuse('Stripe-Signature has more than one timestamp');
          t = value;
        } else if (key === 'v1') {
          // Counted before decoding: malformed entries are candidates too.
          if (++candidates > MAX_SIGNATURES_PER_HEADER)
            return tooManySignatures('Stripe-Signature');
          const sig = fromHex(value);
          if (sig?.length === 32) signatures.push(sig);
        }
      }
      const timestamp = parseTimestamp(t);
      if (timestamp === undefined) return refuse('Stripe-Signature has no valid timestamp');
      if (signatures.length === 0) return refuse('Stripe-Signature has no v1 signature');
      return {
        ok: true,
        timestamp,
        checks: [
          {
            kind: 'hmac',
            algorithm: 'sha256',
            keys,
            message: [utf8(`${t}.`), body],
            signatures,
          },
        ],
      };
    },
  };
}

export interface StripeSignInput {
  secret: string;
  body: Uint8Array | string;
  /** Unix seconds. */
  timestamp: number;
}

/** `Stripe-Signature` as Stripe sends it (what stripe-node's generateTestHeaderString makes). */
export function sign(input: StripeSignInput, signer: Signer): SignedHeaders {
  const body = typeof input.body === 'string' ? utf8(input.body) : input.body;
  const mac = signer.hmac('sha256', utf8(input.secret), [utf8(`${input.timestamp}.`), body]);
  return { 'stripe-signature': `t=${input.timestamp},v1=${toHex(mac)}` };
}
