// Zoom: `x-zm-signature: v0=<hex>` = HMAC-SHA256 over `v0:${x-zm-request-timestamp}:${body}`
// keyed by the app's Secret Token (not the OAuth client secret). Zoom gives no tolerance; we
// check ±300 s. `endpoint.url_validation` is answered with `encryptedToken(secret, plainToken)`.
// https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
import { toHex, utf8 } from './encoding.ts';
import type { Scheme, SignedHeaders, Signer } from './types.ts';
import { type V0Options, type V0SignInput, v0Scheme, v0Sign } from './v0.ts';

const HEADERS = { signature: 'x-zm-signature', timestamp: 'x-zm-request-timestamp' };

/** The app's Secret Token (several while rotating); tolerance in seconds, default 300. */
export type ZoomOptions = V0Options;

export function zoom(options: ZoomOptions): Scheme {
  return v0Scheme('zoom', HEADERS, options);
}

export type ZoomSignInput = V0SignInput;

export function sign(input: ZoomSignInput, signer: Signer): SignedHeaders {
  return v0Sign(HEADERS, input, signer);
}

/** The `encryptedToken` of Zoom's `endpoint.url_validation`: hex HMAC-SHA256 of plainToken. */
export function encryptedToken(secret: string, plainToken: string, signer: Signer): string {
  return toHex(signer.hmac('sha256', utf8(secret), [utf8(plainToken)]));
}
