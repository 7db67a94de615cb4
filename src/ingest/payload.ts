// Reading a verified body. Only ever called after the signature holds, and never used to
// re-create the bytes that were signed.
import { valueAtPath } from '../json-path.ts';

const decoder = new TextDecoder();

export type MediaKind = 'json' | 'form' | 'other';

export function mediaKind(contentType: string | null): MediaKind {
  if (!contentType) return 'other';
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  return 'other';
}

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

function parseJsonText(text: string, what: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, message: `${what} is not valid JSON` };
  }
}

/** The JSON in a form's `payload` field (GitHub form deliveries, Slack interactivity). */
export function parseFormPayload(form: URLSearchParams): Parsed {
  const payload = form.get('payload');
  if (payload === null) return { ok: false, message: 'form body has no payload field' };
  return parseJsonText(payload, 'form payload field');
}

export function parseForm(body: Uint8Array): URLSearchParams {
  return new URLSearchParams(decoder.decode(body));
}

/** A JSON body, or the JSON in a form body's `payload` field (GitHub, Slack interactivity). */
export function parsePayload(body: Uint8Array, contentType: string | null): Parsed {
  if (mediaKind(contentType) === 'form') return parseFormPayload(parseForm(body));
  return parseJsonText(decoder.decode(body), 'body');
}

export function stringAt(value: unknown, path: string): string | undefined {
  const found = valueAtPath(value, path);
  return typeof found === 'string' && found.length > 0 ? found : undefined;
}
