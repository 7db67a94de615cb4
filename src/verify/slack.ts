// Slack: `X-Slack-Signature: v0=<hex>` = HMAC-SHA256 over `v0:${X-Slack-Request-Timestamp}:${body}`
// with the app's signing secret. Slack asks receivers to refuse requests more than five minutes
// off; Bolt only refuses old ones, we check both ways.
// https://api.slack.com/authentication/verifying-requests-from-slack
import { fromHex, toHex, utf8 } from './encoding.ts';
import { header, parseTimestamp, refuse, secretList, toleranceOf } from './kit.ts';
import type { Scheme, SignedHeaders, Signer } from './types.ts';

export interface SlackOptions {
  secret: string | readonly string[];
  /** Seconds, both directions; default 300. */
  tolerance?: number;
}

export function slack(options: SlackOptions): Scheme {
  const keys = secretList('slack', options.secret).map(utf8);
  return {
    provider: 'slack',
    tolerance: toleranceOf(options.tolerance, 300),
    plan(body, headers) {
      const sigHeader = header(headers, 'x-slack-signature');
      if (!sigHeader.ok) return sigHeader.plan;
      const tsHeader = header(headers, 'x-slack-request-timestamp');
      if (!tsHeader.ok) return tsHeader.plan;
      if (!sigHeader.value) return refuse('missing X-Slack-Signature header');
      const timestamp = parseTimestamp(tsHeader.value);
      if (timestamp === undefined) return refuse('missing or malformed X-Slack-Request-Timestamp');
      const sig = sigHeader.value.startsWith('v0=') ? fromHex(sigHeader.value.slice(3)) : undefined;
      if (sig?.length !== 32) return refuse('X-Slack-Signature is not v0=<64 hex>');
      return {
        ok: true,
        timestamp,
        checks: [
          {
            kind: 'hmac',
            algorithm: 'sha256',
            keys,
            message: [utf8(`v0:${tsHeader.value}:`), body],
            signatures: [sig],
          },
        ],
      };
    },
  };
}

export interface SlackSignInput {
  secret: string;
  body: Uint8Array | string;
  /** Unix seconds. */
  timestamp: number;
}

export function sign(input: SlackSignInput, signer: Signer): SignedHeaders {
  const body = typeof input.body === 'string' ? utf8(input.body) : input.body;
  const ts = String(input.timestamp);
  const mac = signer.hmac('sha256', utf8(input.secret), [utf8(`v0:${ts}:`), body]);
  return { 'x-slack-signature': `v0=${toHex(mac)}`, 'x-slack-request-timestamp': ts };
}
