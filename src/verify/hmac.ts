// A generic HMAC scheme for senders without a preset: one signature header, an algorithm, an
// encoding, an optional prefix (`sha256=`), and optionally a timestamp header and a template
// for the signed string, such as `{timestamp}.{body}`.

import { fromBase64, fromHex, toBase64, toHex, utf8 } from './encoding.ts';
import { VerifierConfigError } from './errors.ts';
import { header, parseTimestamp, refuse, secretList, stringOption, toleranceOf } from './kit.ts';
import type { Algorithm, Scheme, SignedHeaders, Signer } from './types.ts';

export interface HmacOptions {
  secret: string | readonly string[];
  /** The header that carries the signature, e.g. `X-Signature`. */
  header: string;
  /** Default `sha256`. */
  algorithm?: Algorithm;
  /** Default `hex`. `base64` accepts the url alphabet too. */
  encoding?: 'hex' | 'base64';
  /** Text before the signature in the header, e.g. `sha256=`. Default none. */
  prefix?: string;
  /** A header with the Unix-seconds timestamp the sender signed. */
  timestampHeader?: string;
  /** The header whose value `{id}` stands for in the template. */
  idHeader?: string;
  /**
   * The signed string: `{body}` once, and optionally `{timestamp}` and `{id}`.
   * Default `{body}`, or `{timestamp}.{body}` when a timestamp header is set.
   */
  template?: string;
  /** Seconds, both directions, when a timestamp header is set; default 300. */
  tolerance?: number;
}

const DIGEST_BYTES: Record<Algorithm, number> = { sha1: 20, sha256: 32, sha512: 64 };

export function hmac(options: HmacOptions): Scheme {
  const keys = secretList('hmac', options.secret).map(utf8);
  const algorithm: unknown = options.algorithm ?? 'sha256';
  // Own keys only: `'toString' in DIGEST_BYTES` is true.
  if (typeof algorithm !== 'string' || !Object.hasOwn(DIGEST_BYTES, algorithm)) {
    throw new VerifierConfigError(`hmac: algorithm must be sha1, sha256 or sha512`);
  }
  const size = DIGEST_BYTES[algorithm as Algorithm];
  const encoding: unknown = options.encoding ?? 'hex';
  if (encoding !== 'hex' && encoding !== 'base64') {
    throw new VerifierConfigError('hmac: encoding must be hex or base64');
  }
  const decode = encoding === 'hex' ? fromHex : fromBase64;
  const signatureName = stringOption('hmac', 'header', options.header);
  if (signatureName === undefined) throw new VerifierConfigError('hmac: header is required');
  const prefix = stringOption('hmac', 'prefix', options.prefix, true) ?? '';
  const timestampName = stringOption('hmac', 'timestampHeader', options.timestampHeader);
  const signatureHeader = signatureName.toLowerCase();
  const timestampHeader = timestampName?.toLowerCase();
  const idHeader = stringOption('hmac', 'idHeader', options.idHeader)?.toLowerCase();
  const template =
    stringOption('hmac', 'template', options.template, true) ??
    (timestampHeader ? '{timestamp}.{body}' : '{body}');
  const pieces = template.split('{body}');
  if (pieces.length !== 2) throw new VerifierConfigError('hmac: template needs {body} once');
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    if (m[1] === 'timestamp' && !timestampHeader) {
      throw new VerifierConfigError('hmac: template uses {timestamp} but no timestamp header');
    }
    if (m[1] === 'id' && !idHeader) {
      throw new VerifierConfigError('hmac: template uses {id} but no id header');
    }
    if (m[1] !== 'body' && m[1] !== 'timestamp' && m[1] !== 'id') {
      throw new VerifierConfigError(`hmac: unknown placeholder {${m[1]}} in template`);
    }
  }
  const [before = '', after = ''] = pieces;
  return {
    provider: 'hmac',
    tolerance: timestampHeader ? toleranceOf(options.tolerance, 300) : 0,
    plan(body, headers) {
      const h = header(headers, signatureHeader);
      if (!h.ok) return h.plan;
      if (!h.value) return refuse(`missing ${signatureName} header`);
      if (!h.value.startsWith(prefix)) return refuse(`${signatureName} lacks prefix ${prefix}`);
      const sig = decode(h.value.slice(prefix.length));
      if (sig?.length !== size) return refuse(`${signatureName} is not a ${algorithm} HMAC`);
      let timestamp: number | undefined;
      const values: Record<string, string> = {};
      if (timestampHeader) {
        const t = header(headers, timestampHeader);
        if (!t.ok) return t.plan;
        timestamp = parseTimestamp(t.value);
        if (timestamp === undefined || t.value === undefined) {
          return refuse(`missing or malformed ${timestampName} header`);
        }
        values.timestamp = t.value;
      }
      if (idHeader) {
        const id = header(headers, idHeader);
        if (!id.ok) return id.plan;
        values.id = id.value ?? '';
      }
      const fill = (text: string) => text.replace(/\{(timestamp|id)\}/g, (_, k) => values[k] ?? '');
      const message = [utf8(fill(before)), body, utf8(fill(after))];
      const check = {
        kind: 'hmac',
        algorithm: algorithm as Algorithm,
        keys,
        message,
        signatures: [sig],
      } as const;
      return timestamp === undefined
        ? { ok: true, checks: [check] }
        : { ok: true, checks: [check], timestamp };
    },
  };
}

export interface HmacSignInput {
  /** The scheme's options; with several secrets, the first signs. */
  options: HmacOptions;
  body: Uint8Array | string;
  /** Unix seconds; used when the options name a timestamp header. */
  timestamp: number;
  /** The id header's value, when the options name one. */
  id?: string;
}

/** Signs as the generic scheme with these options verifies (the same template rules). */
export function sign(input: HmacSignInput, signer: Signer): SignedHeaders {
  hmac(input.options); // the same option checks as the verifier, with the same errors
  const o = input.options;
  const secret = secretList('hmac', o.secret)[0] as string;
  const body = typeof input.body === 'string' ? utf8(input.body) : input.body;
  const ts = String(input.timestamp);
  const out: SignedHeaders = {};
  const values: Record<string, string> = {};
  if (o.timestampHeader) {
    out[o.timestampHeader.toLowerCase()] = ts;
    values.timestamp = ts;
  }
  if (o.idHeader && input.id !== undefined) {
    out[o.idHeader.toLowerCase()] = input.id;
    values.id = input.id;
  }
  const template = o.template ?? (o.timestampHeader ? '{timestamp}.{body}' : '{body}');
  const [before = '', after = ''] = template.split('{body}');
  const fill = (text: string) => text.replace(/\{(timestamp|id)\}/g, (_, k) => values[k] ?? '');
  const mac = signer.hmac(o.algorithm ?? 'sha256', utf8(secret), [
    utf8(fill(before)),
    body,
    utf8(fill(after)),
  ]);
  const encoded = (o.encoding ?? 'hex') === 'hex' ? toHex(mac) : toBase64(mac);
  out[o.header.toLowerCase()] = `${o.prefix ?? ''}${encoded}`;
  return out;
}
