// Every error code Hookyard answers with, its HTTP status and when it is used. The README's
// error table is this list (test/errors.test.ts holds them equal); tests assert codes, never
// messages (docs/style.md §8).
export const ERROR_CODES = {
  signature_invalid: {
    status: 401,
    when: "the signature is missing, malformed, sent twice or does not match, or a header the provider's own library requires is missing",
  },
  timestamp_out_of_tolerance: {
    status: 401,
    when: 'a genuine signature over a timestamp outside the tolerance',
  },
  payload_invalid: {
    status: 400,
    when: "the body or headers cannot be read the way the provider's scheme needs (bad JSON where the id lives, no delivery id), or an id, type or header cannot be stored as sent (U+0000, a lone UTF-16 surrogate)",
  },
  source_not_found: { status: 404, when: 'no source of that name is configured' },
  method_not_allowed: {
    status: 405,
    when: 'a webhook endpoint was called with a method other than POST, or an /api path with a method it does not take (Allow lists those it does)',
  },
  body_too_large: {
    status: 413,
    when: 'the body is over server.body_limit (refused while streaming)',
  },
  headers_too_large: { status: 431, when: 'the request headers are over the HTTP parser limit' },
  bad_request: {
    status: 400,
    when: 'the request is not parsable HTTP, or its Content-Length is not a number',
  },
  request_timeout: {
    status: 408,
    when: 'the request was not received within server.request_timeout',
  },
  storage_unavailable: {
    status: 503,
    when: 'the store cannot be reached or could not commit (Retry-After is set); a refused ingest stored nothing',
  },
  server_busy: {
    status: 503,
    when: 'more request bytes are in flight than server.max_bytes_in_flight allows (Retry-After is set)',
  },
  unauthorized: {
    status: 401,
    when: 'the API bearer token is missing or wrong, or none is configured',
  },
  not_found: { status: 404, when: 'no such route or event' },
  destination_not_found: {
    status: 404,
    when: 'a replay named a destination that is not configured',
  },
  body_invalid: {
    status: 400,
    when: 'an API request body is not the JSON object the route takes; error.param names the key',
  },
  query_invalid: {
    status: 400,
    when: 'an API query parameter is unknown, repeated or malformed; error.param names it',
  },
  internal_error: { status: 500, when: 'a bug: the server stays up and logs it' },
  config_invalid: {
    status: 500,
    when: 'the configuration is invalid: a start-up error (the CLI exits 2), never an HTTP answer',
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The one error base class: a stable `code` from ERROR_CODES, the HTTP `status` that code is
 * answered with, and the `cause` it wraps. Tests assert codes, never messages.
 */
export class HookyardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.name = new.target.name;
  }
}

/** A configuration that cannot run; the message starts with the path of the bad key. */
export class ConfigError extends HookyardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('config_invalid', message, options);
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

const JSON_TYPE = { 'content-type': 'application/json' };

export function jsonReply(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): Reply {
  return { status, headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(value) };
}

/** `{"error":{"code","message"}}` with the code's status. Messages never carry secrets. */
export function errorReply(
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Reply {
  return jsonReply(ERROR_CODES[code].status, { error: { code, message } }, headers);
}
