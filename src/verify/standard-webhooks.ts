// Standard Webhooks (and Svix, Clerk, Resend): `webhook-id`, `webhook-timestamp`,
// `webhook-signature` (or the `svix-*` names). Signed string `${id}.${timestamp}.${body}`.
// `v1,<b64>` is HMAC-SHA256 keyed by base64-decode(secret without `whsec_`); `v1a,<b64>` is
// Ed25519, checked against a `whpk_` public key. Several space-separated signatures; unknown
// versions are skipped; more than MAX_SIGNATURES_PER_HEADER `v1`/`v1a` entries refuse the header
// (a sender signs once per active secret: one, or two during a rotation).
// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md

import { fromBase64, toBase64, utf8 } from './encoding.ts';
import { VerifierConfigError } from './errors.ts';
import {
  header,
  MAX_SIGNATURES_PER_HEADER,
  parseTimestamp,
  refuse,
  secretList,
  toleranceOf,
  tooManySignatures,
} from './kit.ts';
import type { HeadersInput, Scheme, SignatureCheck, SignedHeaders, Signer } from './types.ts';

export interface StandardWebhooksOptions {
  /** `whsec_<base64>` symmetric secrets and/or `whpk_<base64>` Ed25519 public keys. */
  secret: string | readonly string[];
  /** Seconds, both directions; default 300 (the reference libraries'). */
  tolerance?: number;
}

interface KeySet {
  keys: Uint8Array[];
  secretIndexes: number[];
}

function decodeSecrets(secrets: string[]): { hmac: KeySet; ed25519: KeySet } {
  const hmac: KeySet = { keys: [], secretIndexes: [] };
  const ed25519: KeySet = { keys: [], secretIndexes: [] };
  secrets.forEach((secret, index) => {
    if (secret.startsWith('whpk_')) {
      const key = fromBase64(secret.slice(5));
      if (key?.length !== 32) {
        throw new VerifierConfigError('standard-webhooks: a whpk_ key is not 32 base64 bytes');
      }
      ed25519.keys.push(key);
      ed25519.secretIndexes.push(index);
      return;
    }
    if (secret.startsWith('whsk_')) {
      throw new VerifierConfigError(
        'standard-webhooks: whsk_ is a signing (private) key; configure its whpk_ public key',
      );
    }
    const key = fromBase64(secret.startsWith('whsec_') ? secret.slice(6) : secret);
    if (!key || key.length === 0) {
      throw new VerifierConfigError('standard-webhooks: a whsec_ secret is not valid base64');
    }
    hmac.keys.push(key);
    hmac.secretIndexes.push(index);
  });
  return { hmac, ed25519 };
}

/** The header triple comes from one family: `webhook-*`, else `svix-*`. */
function family(headers: HeadersInput) {
  const sig = header(headers, 'webhook-signature');
  const prefix = sig.ok && sig.value === undefined ? 'svix-' : 'webhook-';
  return {
    id: header(headers, `${prefix}id`),
    timestamp: header(headers, `${prefix}timestamp`),
    signature: header(headers, `${prefix}signature`),
    prefix,
  };
}

export function standardWebhooks(options: StandardWebhooksOptions): Scheme {
  const { hmac, ed25519 } = decodeSecrets(secretList('standard-webhooks', options.secret));
  return {
    provider: 'standard-webhooks',
    tolerance: toleranceOf(options.tolerance, 300),
    plan(body, headers) {
      const f = family(headers);
      if (!f.id.ok) return f.id.plan;
      if (!f.timestamp.ok) return f.timestamp.plan;
      if (!f.signature.ok) return f.signature.plan;
      if (!f.id.value || !f.signature.value) {
        return refuse('missing webhook-id or webhook-signature header');
      }
      const timestamp = parseTimestamp(f.timestamp.value);
      if (timestamp === undefined) return refuse(`missing or malformed ${f.prefix}timestamp`);
      const v1: Uint8Array[] = [];
      const v1a: Uint8Array[] = [];
      let candidates = 0;
      for (const entry of f.signature.value.split(' ')) {
        const comma = entry.indexOf(',');
        if (comma < 0) continue;
        const version = entry.slice(0, comma);
        if (version !== 'v1' && version !== 'v1a') continue;
        // Counted before decoding, over both versions: the cap is per header.
        if (++candidates > MAX_SIGNATURES_PER_HEADER) {
          return tooManySignatures(`${f.prefix}signature`);
        }
        const sig = fromBase64(entry.slice(comma + 1));
        if (version === 'v1' && sig?.length === 32) v1.push(sig);
        else if (version === 'v1a' && sig?.length === 64) v1a.push(sig);
      }
      const message = [utf8(`${f.id.value}.${f.timestamp.value}.`), body];
      const checks: SignatureCheck[] = [];
      if (v1.length > 0 && hmac.keys.length > 0) {
        checks.push({ kind: 'hmac', algorithm: 'sha256', ...hmac, message, signatures: v1 });
      }
      if (v1a.length > 0 && ed25519.keys.length > 0) {
        checks.push({ kind: 'ed25519', ...ed25519, message, signatures: v1a });
      }
      if (checks.length === 0) return refuse('webhook-signature has no usable v1 or v1a entry');
      return { ok: true, timestamp, checks };
    },
  };
}

export interface StandardWebhooksSignInput {
  /**
   * `whsec_<base64>` (v1, HMAC-SHA256) or `whsk_<base64 32-byte seed>` (v1a, Ed25519); or the
   * already-decoded v1 key bytes (the delivery code decodes its secret once).
   */
  secret: string | Uint8Array;
  id: string;
  /** Unix seconds. */
  timestamp: number;
  body: Uint8Array | string;
}

/** The `webhook-*` header triple, signed per the spec (also what Hookyard sends to destinations). */
export function sign(input: StandardWebhooksSignInput, signer: Signer): SignedHeaders {
  const body = typeof input.body === 'string' ? utf8(input.body) : input.body;
  const ts = String(input.timestamp);
  const message = [utf8(`${input.id}.${ts}.`), body];
  let signature: string;
  if (typeof input.secret === 'string' && input.secret.startsWith('whsk_')) {
    const seed = fromBase64(input.secret.slice(5));
    if (seed?.length !== 32) {
      throw new VerifierConfigError('standard-webhooks: a whsk_ key is not 32 base64 bytes');
    }
    signature = `v1a,${toBase64(signer.ed25519(seed, message))}`;
  } else {
    // Bytes are taken as given (the delivery code decoded them already, leniently, as before).
    const key =
      typeof input.secret === 'string'
        ? fromBase64(input.secret.startsWith('whsec_') ? input.secret.slice(6) : input.secret)
        : input.secret;
    if (!key || (typeof input.secret === 'string' && key.length === 0)) {
      throw new VerifierConfigError('standard-webhooks: a whsec_ secret is not valid base64');
    }
    signature = `v1,${toBase64(signer.hmac('sha256', key, message))}`;
  }
  return { 'webhook-id': input.id, 'webhook-timestamp': ts, 'webhook-signature': signature };
}

/** The `whpk_` public key to configure for a `whsk_` signing key. */
export function standardWebhooksPublicKey(signingKey: string, signer: Signer): string {
  const seed = signingKey.startsWith('whsk_') ? fromBase64(signingKey.slice(5)) : undefined;
  if (seed?.length !== 32) {
    throw new VerifierConfigError('standard-webhooks: a whsk_ key is not 32 base64 bytes');
  }
  return `whpk_${toBase64(signer.ed25519PublicKey(seed))}`;
}
