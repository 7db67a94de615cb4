// What `send` and `verify` share: the provider check and the generic HMAC scheme's flags.
import type { ArgsDef } from 'citty';
import type { HmacOptions } from '../verify/hmac.ts';
import { PROVIDERS, type Provider } from '../verify/index.ts';
import { UsageError } from './io.ts';

/** The example config's `custom` source: what `send --provider hmac` signs by default. */
export const DEFAULT_HMAC: Omit<HmacOptions, 'secret'> = {
  header: 'X-Signature',
  prefix: 'sha256=',
  idHeader: 'X-Event-Id',
};

/** `--provider`, one of the verifiers' list, or a UsageError. */
export function providerArg(value: string): Provider {
  if (!(PROVIDERS as readonly string[]).includes(value)) {
    throw new UsageError(
      `--provider: expected one of ${PROVIDERS.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as Provider;
}

export const hmacArgs = {
  'signature-header': {
    type: 'string',
    valueHint: 'name',
    description: 'hmac: the signature header (default X-Signature)',
  },
  prefix: {
    type: 'string',
    valueHint: 'text',
    description: 'hmac: text before the signature (default sha256=)',
  },
  algorithm: {
    type: 'enum',
    options: ['sha1', 'sha256', 'sha512'],
    description: 'hmac: the digest (default sha256)',
  },
  encoding: {
    type: 'enum',
    options: ['hex', 'base64'],
    description: 'hmac: hex or base64 (default hex)',
  },
  'timestamp-header': {
    type: 'string',
    valueHint: 'name',
    description: 'hmac: a header with the signed Unix time',
  },
} satisfies ArgsDef;

/** The HMAC scheme the flags describe, over DEFAULT_HMAC's header and prefix (the id header
 * is send's own: it names the header send fills). */
export function hmacOptions(args: {
  'signature-header'?: string | undefined;
  prefix?: string | undefined;
  algorithm?: string | undefined;
  encoding?: string | undefined;
  'timestamp-header'?: string | undefined;
}): Omit<HmacOptions, 'secret'> {
  return {
    header: DEFAULT_HMAC.header,
    prefix: DEFAULT_HMAC.prefix as string,
    ...(args['signature-header'] !== undefined && { header: args['signature-header'] }),
    ...(args.prefix !== undefined && { prefix: args.prefix }),
    ...(args.algorithm !== undefined && { algorithm: args.algorithm as 'sha256' }),
    ...(args.encoding !== undefined && { encoding: args.encoding as 'hex' }),
    ...(args['timestamp-header'] !== undefined && { timestampHeader: args['timestamp-header'] }),
  };
}
