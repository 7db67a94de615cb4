// Discord (interactions endpoint and webhook events): `X-Signature-Ed25519: <hex>` is an Ed25519
// signature over `${X-Signature-Timestamp}${body}` (plain concatenation), checked against the
// application's public key (hex, from the Developer Portal). Discord sends deliberately bad
// signatures when the URL is saved and later: they must get 401, or Discord drops the URL.
// Discord documents no tolerance; we check ±300 s like the other timestamped schemes.
// https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
import { fromHex, toHex, utf8 } from './encoding.ts';
import { VerifierConfigError } from './errors.ts';
import { header, parseTimestamp, refuse, secretList, toleranceOf } from './kit.ts';
import type { Scheme, SignedHeaders, Signer } from './types.ts';

export interface DiscordOptions {
  /** The application's public key, 64 hex digits (several while rotating). */
  publicKey: string | readonly string[];
  /** Seconds, both directions; default 300. */
  tolerance?: number;
}

export function discord(options: DiscordOptions): Scheme {
  const keys = secretList('discord', options.publicKey).map((hex) => {
    const key = fromHex(hex);
    if (key?.length !== 32) {
      throw new VerifierConfigError('discord: a public key is not 64 hex digits (32 bytes)');
    }
    return key;
  });
  return {
    provider: 'discord',
    tolerance: toleranceOf(options.tolerance, 300),
    plan(body, headers) {
      const sigHeader = header(headers, 'x-signature-ed25519');
      if (!sigHeader.ok) return sigHeader.plan;
      const tsHeader = header(headers, 'x-signature-timestamp');
      if (!tsHeader.ok) return tsHeader.plan;
      if (!sigHeader.value) return refuse('missing X-Signature-Ed25519 header');
      const timestamp = parseTimestamp(tsHeader.value);
      if (timestamp === undefined) return refuse('missing or malformed X-Signature-Timestamp');
      const sig = fromHex(sigHeader.value);
      if (sig?.length !== 64) return refuse('X-Signature-Ed25519 is not 128 hex digits');
      return {
        ok: true,
        timestamp,
        checks: [
          {
            kind: 'ed25519',
            keys,
            message: [utf8(tsHeader.value as string), body],
            signatures: [sig],
          },
        ],
      };
    },
  };
}

export interface DiscordSignInput {
  /** The application's Ed25519 private key as its 32-byte seed, 64 hex digits. */
  privateKey: string;
  body: Uint8Array | string;
  /** Unix seconds. */
  timestamp: number;
}

/** Signs as Discord does; the public key to configure is `discordPublicKey(privateKey)`. */
export function sign(input: DiscordSignInput, signer: Signer): SignedHeaders {
  const seed = discordSeed(input.privateKey);
  const ts = String(input.timestamp);
  const body = typeof input.body === 'string' ? utf8(input.body) : input.body;
  return {
    'x-signature-ed25519': toHex(signer.ed25519(seed, [utf8(ts), body])),
    'x-signature-timestamp': ts,
  };
}

export function discordPublicKey(privateKey: string, signer: Signer): string {
  return toHex(signer.ed25519PublicKey(discordSeed(privateKey)));
}

function discordSeed(privateKey: string): Uint8Array {
  const seed = fromHex(privateKey);
  if (seed?.length !== 32) {
    throw new VerifierConfigError('discord: a private key is 64 hex digits (a 32-byte seed)');
  }
  return seed;
}
