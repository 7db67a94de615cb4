// Slack: `X-Slack-Signature: v0=<hex>` = HMAC-SHA256 over `v0:${X-Slack-Request-Timestamp}:${body}`
// with the app's signing secret. Slack asks receivers to refuse requests more than five minutes
// off; Bolt only refuses old ones, we check both ways.
// https://api.slack.com/authentication/verifying-requests-from-slack
import type { Scheme, SignedHeaders, Signer } from './types.ts';
import { type V0Options, type V0SignInput, v0Scheme, v0Sign } from './v0.ts';

const HEADERS = { signature: 'X-Slack-Signature', timestamp: 'X-Slack-Request-Timestamp' };

export type SlackOptions = V0Options;

export function slack(options: SlackOptions): Scheme {
  return v0Scheme('slack', HEADERS, options);
}

export type SlackSignInput = V0SignInput;

export function sign(input: SlackSignInput, signer: Signer): SignedHeaders {
  return v0Sign(HEADERS, input, signer);
}
