// The Web Crypto build: asynchronous, for runtimes without node:crypto (edge, browsers, Deno).
import { concat } from './encoding.ts';
import { conclude, createScheme, planFor, raise, type VerifierOptions } from './schemes.ts';
import type { SignatureCheck, Verified, VerifyInput, VerifyResult } from './types.ts';

const HASH = { sha1: 'SHA-1', sha256: 'SHA-256', sha512: 'SHA-512' } as const;
const cryptoKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function importKey(check: SignatureCheck, raw: Uint8Array): Promise<CryptoKey> {
  let key = cryptoKeys.get(raw);
  if (!key) {
    const bytes = new Uint8Array(raw);
    key =
      check.kind === 'hmac'
        ? crypto.subtle.importKey(
            'raw',
            bytes,
            { name: 'HMAC', hash: HASH[check.algorithm] },
            false,
            ['verify'],
          )
        : crypto.subtle.importKey('raw', bytes, { name: 'Ed25519' }, false, ['verify']);
    cryptoKeys.set(raw, key);
  }
  return key;
}

async function run(check: SignatureCheck): Promise<number> {
  const message = new Uint8Array(concat(check.message));
  const algorithm = check.kind === 'hmac' ? 'HMAC' : 'Ed25519';
  for (let k = 0; k < check.keys.length; k++) {
    const key = await importKey(check, check.keys[k] as Uint8Array);
    for (const sig of check.signatures) {
      // subtle.verify compares HMACs in constant time itself.
      if (await crypto.subtle.verify(algorithm, key, new Uint8Array(sig), message)) {
        return check.secretIndexes?.[k] ?? k;
      }
    }
  }
  return -1;
}

export interface AsyncVerifier {
  readonly provider: string;
  /** Never rejects for any request: the result says why a request is refused. */
  verify(input: VerifyInput): Promise<VerifyResult>;
}

export function createVerifier(options: VerifierOptions): AsyncVerifier {
  const scheme = createScheme(options);
  return {
    provider: scheme.provider,
    async verify(input) {
      const plan = planFor(scheme, input);
      if (!plan.ok) return plan;
      let matched = -1;
      for (const check of plan.checks) {
        matched = await run(check);
        if (matched >= 0) break;
      }
      return conclude(scheme, plan, matched, input.now);
    },
  };
}

export async function verifyWebhook(
  options: VerifierOptions,
  input: VerifyInput,
): Promise<Verified> {
  return raise(await createVerifier(options).verify(input));
}
