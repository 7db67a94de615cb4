// What to store a request as: its provider's module (providers/) finds the event's id and type
// or a handshake to answer; here every stored string is checked to be storable as sent.
import type { SourceConfig } from '../config.ts';
import { INGEST_PROVIDERS } from './providers/index.ts';
import { type Identified, type IngestRequest, storable, UNSTORABLE } from './providers/kit.ts';
import { isSslCheck } from './providers/slack.ts';

export { type Identified, type IngestRequest, storable } from './providers/kit.ts';

/**
 * Headers are stored with the event (as JSON text, which escapes anything) and sent on with
 * every delivery, where a NUL would fail each attempt; RFC 9110 §5.5 forbids NUL in a field
 * value. node's HTTP parser and fetch's Headers already refuse one; other callers may not.
 */
function unstorableHeader(req: IngestRequest): Identified | undefined {
  if (req.contentType !== null && !storable(req.contentType))
    return { kind: 'invalid', message: `content-type ${UNSTORABLE}` };
  // On every stored event: a plain loop, no arrays (Object.entries here was 1.6% of ingest).
  const headers = req.headers;
  for (const name in headers) {
    const value = headers[name];
    let ok = storable(name);
    if (typeof value === 'string') ok &&= storable(value);
    else if (value) for (const v of value) ok &&= storable(v);
    if (!ok) return { kind: 'invalid', message: `a header ${UNSTORABLE}` };
  }
  return undefined;
}

/** What to store the request as: id and type are checked to be storable as sent, and so are
 * the headers of a request that is to be stored. */
export function identify(source: SourceConfig, req: IngestRequest): Identified {
  const found = identifyEvent(source, req);
  return found.kind === 'event' ? (unstorableHeader(req) ?? found) : found;
}

function identifyEvent(source: SourceConfig, req: IngestRequest): Identified {
  return INGEST_PROVIDERS[source.provider].identify(req, source);
}

/**
 * Slack's `ssl_check=1` form posts are unsigned by design (docs/providers.md §3): answered 200,
 * not stored, before verification.
 */
export function isSlackSslCheck(source: SourceConfig, req: IngestRequest): boolean {
  return source.provider === 'slack' && isSslCheck(req);
}
