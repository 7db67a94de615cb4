import type { WebhookVerificationError } from './errors.ts';

/** A header value as Node gives it (`string[]` when a header was sent more than once). */
export type HeaderValue = string | readonly string[] | undefined;

/**
 * Request headers: a Fetch `Headers`, or a record such as Node's `IncomingHttpHeaders`
 * (keys are looked up lower-cased first, then case-insensitively).
 */
export type HeadersInput = Headers | Readonly<Record<string, HeaderValue>>;

export interface VerifyInput {
  /** The raw body exactly as received. A string is taken as its UTF-8 bytes. */
  body: Uint8Array | string;
  headers: HeadersInput;
  /** The time to check timestamps against, in Unix milliseconds; defaults to `Date.now()`. */
  now?: number;
}

export interface Verified {
  ok: true;
  /** Which configured secret matched (0 = the first): tells when rotation is complete. */
  secretIndex: number;
  /** The signed timestamp in Unix seconds, for schemes that sign one. */
  timestamp?: number;
}

export type VerifyResult = Verified | { ok: false; error: WebhookVerificationError };

export type Algorithm = 'sha1' | 'sha256' | 'sha512';

/** One signature scheme check: does any signature match any key over the message? */
export type SignatureCheck =
  ({ kind: 'hmac'; algorithm: Algorithm } & CheckParts) | ({ kind: 'ed25519' } & CheckParts);

interface CheckParts {
  /** HMAC keys, or raw 32-byte Ed25519 public keys. */
  keys: readonly Uint8Array[];
  /** The index in the configured secrets of each key; the identity when absent. */
  secretIndexes?: readonly number[];
  /** The signed bytes, in pieces (a prefix, the body, …) so the body is never copied. */
  message: readonly Uint8Array[];
  signatures: readonly Uint8Array[];
}

/**
 * What a scheme makes of a request before any cryptography: either the checks to run (any one
 * passing verifies the request) and the timestamp to hold against the tolerance, or a refusal.
 */
export type Plan =
  | { ok: true; checks: readonly SignatureCheck[]; timestamp?: number }
  | { ok: false; error: WebhookVerificationError };

export interface Scheme {
  readonly provider: string;
  /** Tolerance in seconds, checked in both directions; 0 turns the check off. */
  readonly tolerance: number;
  plan(body: Uint8Array, headers: HeadersInput): Plan;
}

/**
 * The cryptography a provider's `sign` needs, supplied by the caller (the schemes themselves
 * stay free of node:crypto so the Web Crypto build can share them): `nodeSigner` in node.ts.
 */
export interface Signer {
  hmac(algorithm: Algorithm, key: Uint8Array, message: readonly Uint8Array[]): Uint8Array;
  /** An Ed25519 signature with the private key given as its raw 32-byte seed. */
  ed25519(seed: Uint8Array, message: readonly Uint8Array[]): Uint8Array;
  /** The raw 32-byte public key of a raw 32-byte Ed25519 seed. */
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
}

/** Headers a `sign` produces, lower-cased names. */
export type SignedHeaders = Record<string, string>;
