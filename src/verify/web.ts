// `hookyard/verify/web`: the same verifiers on Web Crypto, for Workers, Deno, Bun and browsers.
export { VerifierConfigError, type VerifyErrorCode, WebhookVerificationError } from './errors.ts';
export { MAX_SIGNATURES_PER_HEADER } from './kit.ts';
export { PROVIDERS, type Provider, type VerifierOptions } from './schemes.ts';
export type { HeadersInput, Verified, VerifyInput, VerifyResult } from './types.ts';
export { type AsyncVerifier, createVerifier, verifyWebhook } from './web-driver.ts';
