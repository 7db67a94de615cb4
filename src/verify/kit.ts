// Small pieces every scheme uses: header lookup with duplicate detection, timestamps,
// secrets and refusals.
import { VerifierConfigError, WebhookVerificationError } from './errors.ts';
import type { HeadersInput, Plan } from './types.ts';

export function refuse(message: string): Plan {
  return { ok: false, error: new WebhookVerificationError('signature_invalid', message) };
}

/**
 * At most this many candidate signatures are examined in one header (Stripe's `v1=` list,
 * Standard Webhooks' space-separated `v1,…`/`v1a,…` list). A header with more is refused before
 * any is verified: a genuine sender sends one per active secret — two during a rotation — so a
 * long list is only ever a forger's way to buy many Ed25519 or HMAC checks with one request.
 */
export const MAX_SIGNATURES_PER_HEADER = 10;

export function tooManySignatures(name: string): Plan {
  return refuse(`${name} carries more than ${MAX_SIGNATURES_PER_HEADER} signatures`);
}

export type Header = { ok: true; value: string | undefined } | { ok: false; plan: Plan };

/**
 * Reads one header. A header sent more than once is refused: two signature headers are
 * never legitimate and can smuggle a second candidate past a naive parser (docs/providers.md §0).
 */
export function header(headers: HeadersInput, name: string): Header {
  let value: unknown;
  if (typeof (headers as Headers).get === 'function') {
    value = (headers as Headers).get(name) ?? undefined;
  } else {
    const record = headers as Readonly<Record<string, unknown>>;
    value = record[name];
    if (value === undefined) {
      for (const key of Object.keys(record)) {
        if (key.toLowerCase() === name) {
          value = record[key];
          break;
        }
      }
    }
  }
  if (value === undefined || value === null) return { ok: true, value: undefined };
  if (Array.isArray(value)) {
    if (value.length === 1 && typeof value[0] === 'string') return { ok: true, value: value[0] };
    return { ok: false, plan: refuse(`header ${name} was sent more than once`) };
  }
  if (typeof value !== 'string') return { ok: false, plan: refuse(`header ${name} is not text`) };
  return { ok: true, value };
}

/** Unix seconds as decimal digits only; anything else (signs, exponents, spaces) is refused. */
export function parseTimestamp(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,12}$/.test(text)) return undefined;
  return Number(text);
}

/**
 * The secrets as a non-empty list of non-empty strings, for rotation (several may match).
 * Options often come from untyped sources (YAML, env), so every shape is checked here.
 */
export function secretList(provider: string, secret: unknown): string[] {
  if (typeof secret !== 'string' && !Array.isArray(secret)) {
    throw new VerifierConfigError(
      `${provider}: secret must be a string or an array of strings, got ${kindOf(secret)}`,
    );
  }
  const list: unknown[] = typeof secret === 'string' ? [secret] : [...(secret as unknown[])];
  if (list.length === 0)
    throw new VerifierConfigError(`${provider}: at least one secret is needed`);
  for (const [i, s] of list.entries()) {
    if (typeof s !== 'string') {
      throw new VerifierConfigError(`${provider}: secret ${i} is ${kindOf(s)}, not a string`);
    }
    if (s.length === 0) {
      throw new VerifierConfigError(`${provider}: a secret is empty`);
    }
    if (s.trim() !== s) {
      // Stripe's SDK warns about the same thing: a pasted newline makes every signature fail.
      throw new VerifierConfigError(`${provider}: a secret has leading or trailing whitespace`);
    }
  }
  return list as string[];
}

/** What a bad option value is, for messages — never the value itself, which may be a secret. */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** An optional string option: absent, or a string (non-empty unless `allowEmpty`). */
export function stringOption(
  provider: string,
  name: string,
  value: unknown,
  allowEmpty = false,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) {
    throw new VerifierConfigError(
      `${provider}: ${name} must be a ${allowEmpty ? '' : 'non-empty '}string, got ${
        typeof value === 'string' ? 'an empty string' : kindOf(value)
      }`,
    );
  }
  return value;
}

export function toleranceOf(value: unknown, fallback: number): number {
  const tolerance = value === undefined ? fallback : value;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new VerifierConfigError('tolerance must be a number of seconds, 0 or more');
  }
  return tolerance;
}
