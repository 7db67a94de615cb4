// Request headers as ingest sees them: the pairs as received (stored with the event) and a
// lower-cased lookup in which a header sent more than once is an array, so that a verifier
// can refuse a second signature header (it could smuggle a second candidate past a parser).

/** Headers whose genuine value never holds ", ": where a runtime joined repeats of them
 * (fetch's `Headers` does), ", " means the header was sent more than once. */
const SINGLE_VALUED = new Set([
  'stripe-signature',
  'x-hub-signature-256',
  'x-hub-signature',
  'x-github-delivery',
  'x-github-event',
  'x-slack-signature',
  'x-slack-request-timestamp',
  'x-shopify-hmac-sha256',
  'shopify-hmac-sha256',
  'x-shopify-webhook-id',
  'shopify-webhook-id',
  'x-shopify-event-id',
  'shopify-event-id',
  'x-shopify-topic',
  'shopify-topic',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'svix-id',
  'svix-timestamp',
  'svix-signature',
  'x-signature-ed25519',
  'x-signature-timestamp',
  'x-zm-signature',
  'x-zm-request-timestamp',
]);

export type HeaderLookup = Record<string, string | string[]>;

export interface ReadHeaders {
  pairs: [string, string][];
  lookup: HeaderLookup;
}

/**
 * One pass over a flat `[name, value, name, value, …]` list (node's `rawHeaders`). With
 * `joined` (a fetch `Headers`, which joins repeats with ", "), a single-valued header — one
 * of SINGLE_VALUED or of `extraSingle` — that holds ", " is split back into its copies.
 */
export function readHeaders(
  raw: readonly string[],
  joined = false,
  extraSingle: readonly string[] = [],
): ReadHeaders {
  const pairs: [string, string][] = [];
  const lookup: HeaderLookup = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    pairs.push([name, value]);
    const key = name.toLowerCase();
    const seen = lookup[key];
    if (seen === undefined) {
      lookup[key] =
        joined && value.includes(', ') && (SINGLE_VALUED.has(key) || extraSingle.includes(key))
          ? value.split(', ')
          : value;
    } else lookup[key] = Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return { pairs, lookup };
}
