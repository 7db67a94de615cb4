// Zoom: `x-zm-signature: v0=<hex>` = HMAC-SHA256 over `v0:${x-zm-request-timestamp}:${body}`
// keyed by the app's Secret Token (not the OAuth client secret). Zoom gives no tolerance; we
// check ±300 s. `endpoint.url_validation` is answered with `encryptedToken(secret, plainToken)`.
// https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
import { fromHex, toHex, utf8 } from './encoding.ts';
import { header, parseTimestamp, refuse, secretList, toleranceOf } from './kit.ts';
import type { Scheme, SignedHeaders, Signer } from './types.ts';

export interface ZoomOptions {
  /** The app's Secret Token (several while rotating). */
  secret: string | readonly string[];
  /** Seconds, both directions; default 300. */
  tolerance?: number;
}

export function zoom(options: ZoomOptions): Scheme {
  const keys = secretList('zoom', options.secret).map(utf8);
  return {
    provider: 'zoom',
    tolerance: toleranceOf(options.tolerance, 300),
    plan(body, headers) {
      const sigHeader = header(headers, 'x-zm-signature');
      if (!sigHeader.ok) return sigHeader.plan;
      const tsHeader = header(headers, 'x-zm-request-timestamp');
      if (!tsHeader.ok) return tsHeader.plan;
      if (!sigHeader.value) return refuse('missing x-zm-signature header');
      const timestamp = parseTimestamp(tsHeader.value);
      if (timestamp === undefined) return refuse('missing or malformed x-zm-request-timestamp');
      const sig = sigHeader.value.startsWith('v0=') ? fromHex(sigHeader.value.slice(3)) : undefined;
      if (sig?.length !== 32) return refuse('x-zm-signature is not v0=<64 hex>');
      return {
        ok: true,
        timestamp,
        checks: [
          {
            kind: 'hmac',
            algorithm: 'sha256',
            keys,
            message: [utf8(`v0:${tsHeader.value}:`), body],
            signatures: [sig],
          },
        ],
      };
    },
  };
}

export interface ZoomSignInput {
  secret: string;
  body: Uint8Array | string;
  /** Unix seconds. */
  timestamp: number;
}

export function sign(input: ZoomSignInput, signer: Signer): SignedHeaders {
  const ts = String(input.timestamp);
  const body = typeof input.body === 'string' ? utf8(input.body) : input.body;
  const mac = signer.hmac('sha256', utf8(input.secret), [utf8(`v0:${ts}:`), body]);
  return { 'x-zm-signature': `v0=${toHex(mac)}`, 'x-zm-request-timestamp': ts };
}

/** The `encryptedToken` of Zoom's `endpoint.url_validation`: hex HMAC-SHA256 of plainToken. */
export function encryptedToken(secret: string, plainToken: string, signer: Signer): string {
  return toHex(signer.hmac('sha256', utf8(secret), [utf8(plainToken)]));
}
