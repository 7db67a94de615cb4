// The `v0` scheme Slack and Zoom share: `<signature header>: v0=<hex>`, an HMAC-SHA256 of
// `v0:<timestamp header>:<body>` keyed by the app's secret, the timestamp checked both ways.
import { fromHex, toHex, utf8 } from './encoding.ts';
import { header, parseTimestamp, refuse, secretList, toleranceOf } from './kit.ts';
import type { Scheme, SignedHeaders, Signer } from './types.ts';

/** A provider's two headers, spelled as its docs spell them (for messages). */
export interface V0Headers {
  signature: string;
  timestamp: string;
}

export interface V0Options {
  secret: string | readonly string[];
  /** Seconds, both directions; default 300. */
  tolerance?: number;
}

export function v0Scheme(provider: 'slack' | 'zoom', names: V0Headers, options: V0Options): Scheme {
  const keys = secretList(provider, options.secret).map(utf8);
  const sigName = names.signature.toLowerCase();
  const tsName = names.timestamp.toLowerCase();
  return {
    provider,
    tolerance: toleranceOf(options.tolerance, 300),
    plan(body, headers) {
      const sigHeader = header(headers, sigName);
      if (!sigHeader.ok) return sigHeader.plan;
      const tsHeader = header(headers, tsName);
      if (!tsHeader.ok) return tsHeader.plan;
      if (!sigHeader.value) return refuse(`missing ${names.signature} header`);
      const timestamp = parseTimestamp(tsHeader.value);
      if (timestamp === undefined) return refuse(`missing or malformed ${names.timestamp}`);
      const sig = sigHeader.value.startsWith('v0=') ? fromHex(sigHeader.value.slice(3)) : undefined;
      if (sig?.length !== 32) return refuse(`${names.signature} is not v0=<64 hex>`);
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

export interface V0SignInput {
  secret: string;
  body: Uint8Array | string;
  /** Unix seconds. */
  timestamp: number;
}

export function v0Sign(names: V0Headers, input: V0SignInput, signer: Signer): SignedHeaders {
  const body = typeof input.body === 'string' ? utf8(input.body) : input.body;
  const ts = String(input.timestamp);
  const mac = signer.hmac('sha256', utf8(input.secret), [utf8(`v0:${ts}:`), body]);
  return {
    [names.signature.toLowerCase()]: `v0=${toHex(mac)}`,
    [names.timestamp.toLowerCase()]: ts,
  };
}
