// The node:crypto build: synchronous, used on the ingest hot path.
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  sign as signWith,
  timingSafeEqual,
  verify as verifySignature,
} from 'node:crypto';
import { conclude, createScheme, planFor, raise, type VerifierOptions } from './schemes.ts';
import type { SignatureCheck, Signer, Verified, VerifyInput, VerifyResult } from './types.ts';

const keyObjects = new WeakMap<Uint8Array, KeyObject>();

function keyObject(check: SignatureCheck, raw: Uint8Array): KeyObject {
  let key = keyObjects.get(raw);
  if (!key) {
    key =
      check.kind === 'hmac'
        ? createSecretKey(raw)
        : createPublicKey({
            key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
            format: 'jwk',
          });
    keyObjects.set(raw, key);
  }
  return key;
}

/** The index of the configured secret that matches, or -1. */
function run(check: SignatureCheck): number {
  for (let k = 0; k < check.keys.length; k++) {
    const raw = check.keys[k] as Uint8Array;
    const key = keyObject(check, raw);
    let matched = false;
    if (check.kind === 'hmac') {
      const mac = createHmac(check.algorithm, key);
      for (const part of check.message) mac.update(part);
      const digest = mac.digest();
      for (const sig of check.signatures) {
        if (sig.length === digest.length && timingSafeEqual(sig, digest)) matched = true;
      }
    } else {
      const message = Buffer.concat(check.message);
      for (const sig of check.signatures) {
        if (verifySignature(null, message, key, sig)) matched = true;
      }
    }
    if (matched) return check.secretIndexes?.[k] ?? k;
  }
  return -1;
}

export interface Verifier {
  readonly provider: string;
  /** Never throws for any request: the result says why a request is refused. */
  verify(input: VerifyInput): VerifyResult;
}

export function createVerifier(options: VerifierOptions): Verifier {
  const scheme = createScheme(options);
  return {
    provider: scheme.provider,
    verify(input) {
      const plan = planFor(scheme, input);
      if (!plan.ok) return plan;
      let matched = -1;
      for (const check of plan.checks) {
        matched = run(check);
        if (matched >= 0) break;
      }
      return conclude(scheme, plan, matched, input.now);
    },
  };
}

/** Verifies one request, throwing `WebhookVerificationError` (with a `code`) when refused. */
export function verifyWebhook(options: VerifierOptions, input: VerifyInput): Verified {
  return raise(createVerifier(options).verify(input));
}

const ED25519_SEED_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

function seedKey(seed: Uint8Array): KeyObject {
  // A raw Ed25519 seed needs a PKCS#8 wrapper for node (docs/providers.md §4).
  return createPrivateKey({
    key: Buffer.concat([ED25519_SEED_PKCS8, seed]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** The node:crypto cryptography for the providers' `sign` functions. */
export const nodeSigner: Signer = {
  hmac(algorithm, key, message) {
    const mac = createHmac(algorithm, key);
    for (const part of message) mac.update(part);
    return mac.digest();
  },
  ed25519(seed, message) {
    return signWith(null, Buffer.concat(message), seedKey(seed));
  },
  ed25519PublicKey(seed) {
    const jwk = createPublicKey(seedKey(seed)).export({ format: 'jwk' });
    return Buffer.from(jwk.x as string, 'base64url');
  },
};
