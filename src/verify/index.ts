// `hookyard/verify`: one verifier per provider, one contract, no runtime dependencies.
// This entry uses node:crypto (synchronous); `hookyard/verify/web` is the Web Crypto twin.
export { VerifierConfigError, type VerifyErrorCode, WebhookVerificationError } from './errors.ts';
export { createVerifier, type Verifier, verifyWebhook } from './node.ts';
export { MAX_SIGNATURES_PER_HEADER } from './kit.ts';
export { PROVIDERS, type Provider, type VerifierOptions } from './schemes.ts';
export type { HeadersInput, Verified, VerifyInput, VerifyResult } from './types.ts';
