/**
 * Stable error codes of the verifiers. Tests and callers assert the code, never the message.
 * Both map to HTTP 401 at ingest.
 */
export type VerifyErrorCode = 'signature_invalid' | 'timestamp_out_of_tolerance';

export class WebhookVerificationError extends Error {
  readonly code: VerifyErrorCode;
  readonly status = 401;
  constructor(code: VerifyErrorCode, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.code = code;
  }
}

/** Thrown at construction when a verifier's options (a secret, an algorithm) are unusable. */
export class VerifierConfigError extends Error {
  readonly code = 'verifier_config_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'VerifierConfigError';
  }
}
