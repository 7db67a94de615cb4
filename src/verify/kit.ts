// Small pieces every scheme uses: header lookup with duplicate detection, timestamps,
// secrets and refusals.
import { VerifierConfigError, WebhookVerificationError } from './errors.ts';
import type { HeadersInput, Plan } from './types.ts';

export function refuse(message: string): Plan {
  return { ok: false, error: new WebhookVerificationError('signature_invalid', message) };
}

export type Header = { ok: true; value: string | undefined } | { ok: false; plan: Plan };

/**
 * Reads one header. A header sent more than once is refused: two signature headers are
 * never legitimate and can smuggle a second candidate past a naive parser (providers.md §0).
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

/** The secrets as a non-empty list of non-empty strings, for rotation (several may match). */
export function secretList(provider: string, secret: string | readonly string[]): string[] {
  const list = typeof secret === 'string' ? [secret] : [...secret];
  if (list.length === 0)
    throw new VerifierConfigError(`${provider}: at least one secret is needed`);
  for (const s of list) {
    if (typeof s !== 'string' || s.length === 0) {
      throw new VerifierConfigError(`${provider}: a secret is empty`);
    }
    if (s.trim() !== s) {
      // Stripe's SDK warns about the same thing: a pasted newline makes every signature fail.
      throw new VerifierConfigError(`${provider}: a secret has leading or trailing whitespace`);
    }
  }
  return list;
}

export function toleranceOf(value: number | undefined, fallback: number): number {
  const tolerance = value ?? fallback;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new VerifierConfigError('tolerance must be a number of seconds, 0 or more');
  }
  return tolerance;
}
