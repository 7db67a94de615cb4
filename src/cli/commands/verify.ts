// `hookyard verify`: says why a signature does or does not verify — wrong secret, body changed,
// timestamp outside the tolerance (and by how much), a header missing or malformed — and never
// prints the signature the secret would make: the output may be pasted into a ticket, and an
// expected signature is a forgery kit for that body.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { HmacOptions } from '../../verify/hmac.ts';
import {
  createVerifier,
  PROVIDERS,
  type VerifierOptions,
  type VerifyResult,
} from '../../verify/index.ts';
import { client } from '../gateway-client.ts';
import { CommandError, defineCommand, gatewayArgs, jsonArg, repeated, UsageError } from '../io.ts';
import { hmacArgs, hmacOptions, providerArg } from '../hmac-args.ts';

export type DiagnosisCode =
  | 'valid'
  | 'header_missing_or_malformed'
  | 'timestamp_out_of_tolerance'
  | 'body_changed'
  | 'wrong_secret'
  | 'signature_mismatch';

export interface Diagnosis {
  ok: boolean;
  code: DiagnosisCode;
  message: string;
  /** For timestamp_out_of_tolerance: seconds past the tolerance (positive: too old). */
  skew_seconds?: number;
  tolerance_seconds?: number;
}

export interface DiagnoseInput {
  options: VerifierOptions;
  body: Uint8Array;
  headers: Record<string, string | string[]>;
  /** Unix ms; default now. */
  now?: number;
  /** The bytes are the ones a gateway stored after verifying them: the body is not in doubt. */
  storedByGateway?: boolean;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Bodies a proxy or a framework commonly makes of the signed one. */
function variants(body: Uint8Array): [string, Uint8Array][] {
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    return [];
  }
  const out: [string, string][] = [
    ['with a trailing newline removed', text.replace(/\r?\n$/, '')],
    ['with a trailing newline added', `${text}\n`],
    ['with CRLF line ends turned into LF', text.replaceAll('\r\n', '\n')],
  ];
  try {
    const parsed: unknown = JSON.parse(text);
    out.push(
      ['re-serialised as compact JSON', JSON.stringify(parsed)],
      ['re-serialised as JSON indented by 2', JSON.stringify(parsed, null, 2)],
      ['re-serialised as JSON indented by 4', JSON.stringify(parsed, null, 4)],
    );
  } catch {
    // not JSON: only the whitespace variants
  }
  return out.filter(([, v]) => v !== text).map(([what, v]) => [what, encoder.encode(v)]);
}

function withoutTolerance(options: VerifierOptions): VerifierOptions {
  return { ...options, tolerance: 0 } as VerifierOptions;
}

export function diagnose(input: DiagnoseInput): Diagnosis {
  const now = input.now ?? Date.now();
  const verifier = createVerifier(input.options);
  const result: VerifyResult = verifier.verify({ body: input.body, headers: input.headers, now });
  if (result.ok) {
    const which = result.secretIndex > 0 ? ` (secret ${result.secretIndex + 1} matched)` : '';
    return { ok: true, code: 'valid', message: `the signature is valid${which}` };
  }
  // Without the time check: does the signature itself hold?
  const relaxed = createVerifier(withoutTolerance(input.options)).verify({
    body: input.body,
    headers: input.headers,
    now,
  });
  if (
    result.error.code === 'timestamp_out_of_tolerance' &&
    relaxed.ok &&
    relaxed.timestamp !== undefined
  ) {
    const tolerance = (input.options as { tolerance?: number }).tolerance ?? 300;
    const age = Math.round(now / 1000 - relaxed.timestamp);
    const past = Math.abs(age) - tolerance;
    const when = age >= 0 ? `${age} s old` : `${-age} s in the future`;
    return {
      ok: false,
      code: 'timestamp_out_of_tolerance',
      message: `the signature matches, but the signed timestamp is ${when}: ${past} s outside the tolerance of ${tolerance} s (a replay, a delayed retry, or a clock off)`,
      skew_seconds: age >= 0 ? past : -past,
      tolerance_seconds: tolerance,
    };
  }
  // Is anything there to check? A plan refusal names the header and what is wrong with it.
  const message = result.error.message;
  if (message !== 'no signature matches the configured secret') {
    return { ok: false, code: 'header_missing_or_malformed', message };
  }
  for (const [what, body] of variants(input.body)) {
    const again = createVerifier(withoutTolerance(input.options)).verify({
      body,
      headers: input.headers,
      now,
    });
    if (again.ok) {
      return {
        ok: false,
        code: 'body_changed',
        message: `the body changed after it was signed: the signature matches the body ${what}. Verify the raw bytes as received, before any parsing`,
      };
    }
  }
  if (input.storedByGateway) {
    return {
      ok: false,
      code: 'wrong_secret',
      message:
        'wrong secret: these are the exact bytes and headers the gateway stored, and they do not verify with this secret',
    };
  }
  return {
    ok: false,
    code: 'signature_mismatch',
    message:
      'no signature matches this secret: the secret is wrong, or the body is not the one that was signed (no common re-serialisation of it matches either)',
  };
}

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0)
    throw new UsageError(`--header: expected 'name: value', got ${JSON.stringify(text)}`);
  return [text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim()];
}

function addHeader(headers: Record<string, string | string[]>, name: string, value: string) {
  const key = name.toLowerCase();
  const before = headers[key];
  headers[key] = before === undefined ? value : [...[before].flat(), value];
}

interface StoredEvent {
  headers: [string, string][] | Record<string, string>;
  body: string;
  body_encoding: 'utf8' | 'base64';
}

export const verifyCommand = defineCommand({
  meta: { name: 'verify', description: 'explain why a webhook signature does or does not verify' },
  args: {
    provider: {
      type: 'string',
      required: true,
      valueHint: 'provider',
      description: `the signature scheme: ${PROVIDERS.join(', ')}`,
    },
    secret: {
      type: 'string',
      required: true,
      valueHint: 'secret',
      description: 'the secret to check with (discord: the public key; repeat for several)',
    },
    event: {
      type: 'string',
      valueHint: 'id',
      description: 'a stored event (hye_…), read from the gateway',
    },
    body: { type: 'string', valueHint: 'file', description: 'the raw body as received' },
    header: { type: 'string', valueHint: 'k: v', description: 'a request header (repeat)' },
    tolerance: {
      type: 'string',
      valueHint: 's',
      description: 'timestamp tolerance in seconds (default 300)',
    },
    ...hmacArgs,
    template: {
      type: 'string',
      valueHint: 'text',
      description: 'hmac: the signed string, e.g. {timestamp}.{body}',
    },
    ...gatewayArgs,
    ...jsonArg,
  },
  notes: `Either --event <id> (headers and body as the gateway stored them) or --body <file> with
each --header. Exits 0 when the signature verifies, 1 when it does not. The signature the
secret would make is never printed.
`,
  async run({ args, rawArgs, io }) {
    const provider = providerArg(args.provider);
    if ((args.event === undefined) === (args.body === undefined)) {
      throw new UsageError('give --event <id>, or --body <file> with --header');
    }
    const secrets = repeated(rawArgs, 'secret');
    let tolerance: number | undefined;
    if (args.tolerance !== undefined) {
      if (!/^\d{1,9}$/.test(args.tolerance))
        throw new UsageError('--tolerance: expected whole seconds');
      tolerance = Number(args.tolerance);
    }
    const secret = secrets.length === 1 ? (secrets[0] as string) : secrets;
    const common = tolerance === undefined ? {} : { tolerance };
    let options: VerifierOptions;
    if (provider === 'discord') options = { provider, publicKey: secret, ...common };
    else if (provider === 'hmac') {
      const hmac: Omit<HmacOptions, 'secret'> = {
        ...hmacOptions(args),
        ...(args.template !== undefined && { template: args.template }),
      };
      options = { provider, secret, ...hmac, ...common };
    } else options = { provider, secret, ...common } as VerifierOptions;
    try {
      createVerifier(options);
    } catch (error) {
      throw new UsageError(`--secret: ${(error as Error).message}`);
    }

    const headers: Record<string, string | string[]> = {};
    let body: Uint8Array;
    if (args.event !== undefined) {
      const stored = await client(args, io).get<StoredEvent>(
        `/api/events/${encodeURIComponent(args.event)}`,
      );
      const pairs = Array.isArray(stored.headers) ? stored.headers : Object.entries(stored.headers);
      for (const [name, value] of pairs) addHeader(headers, name, value);
      body = Buffer.from(stored.body, stored.body_encoding === 'base64' ? 'base64' : 'utf8');
    } else {
      try {
        body = await readFile(resolve(io.cwd ?? process.cwd(), args.body as string));
      } catch (error) {
        throw new CommandError(
          `--body: cannot read ${args.body}: ${(error as { code?: string }).code ?? error}`,
        );
      }
      for (const text of repeated(rawArgs, 'header')) {
        const [name, value] = parseHeader(text);
        addHeader(headers, name, value);
      }
    }
    const result = diagnose({ options, body, headers, storedByGateway: args.event !== undefined });
    if (args.json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else
      io.stdout.write(`${result.ok ? 'valid' : `invalid (${result.code})`}: ${result.message}\n`);
    return result.ok ? 0 : 1;
  },
});
