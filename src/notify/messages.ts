// The bodies of operational notifications: Standard Webhooks' `{type, timestamp, data}` (as
// Svix's operational webhooks are), or a Slack incoming-webhook message. Snake_case JSON, like
// every body Hookyard writes.
import type { NotifyEvent } from '../config/schema.ts';

/** What a notification says, before it is given a format. */
export type NotifyMessage =
  | {
      type: 'delivery.dead';
      data: {
        destination: string;
        delivery_id: string;
        event_id: string;
        reason: string;
        count: 1;
      };
    }
  | {
      /** The deaths left out of one interval once its burst was sent, counted. */
      type: 'delivery.dead';
      data: {
        summary: true;
        count: number;
        destinations: Record<string, number>;
        since: string;
        until: string;
      };
    }
  | {
      type: 'destination.failing';
      data: {
        destination: string;
        failing_since: string;
        failed_attempts: number;
        last_error: string;
      };
    }
  | {
      type: 'destination.recovered';
      data: {
        destination: string;
        failing_since: string;
        recovered_at: string;
        failed_attempts: number;
      };
    };

export type NotifyFormat = 'standard-webhooks' | 'slack';

/** Errors come from a destination's answer: kept short in a notification. */
export function shortError(error: string): string {
  return error.length > 300 ? `${error.slice(0, 299)}…` : error;
}

/** Slack's three control characters (https://api.slack.com/reference/surfaces/formatting#escaping):
 * an error text with `<!channel>` in it is shown, never a mention. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function slackText(m: NotifyMessage): string {
  switch (m.type) {
    case 'delivery.dead': {
      const d = m.data;
      if ('summary' in d) {
        const where = Object.entries(d.destinations)
          .map(([name, n]) => `${esc(name)} ${n}`)
          .join(', ');
        return `:x: Hookyard: ${d.count} more deliveries dead from ${d.since} to ${d.until} (${where})`;
      }
      return `:x: Hookyard: a delivery to \`${esc(d.destination)}\` is dead (${esc(d.reason)}); event ${esc(d.event_id)}, delivery ${esc(d.delivery_id)}`;
    }
    case 'destination.failing':
      return `:red_circle: Hookyard: destination \`${esc(m.data.destination)}\` is failing: ${m.data.failed_attempts} attempts in a row failed since ${m.data.failing_since}; last error: ${esc(m.data.last_error)}`;
    case 'destination.recovered':
      return `:large_green_circle: Hookyard: destination \`${esc(m.data.destination)}\` recovered at ${m.data.recovered_at} after ${m.data.failed_attempts} failed attempts (failing since ${m.data.failing_since})`;
  }
}

/** The body sent for `m` at `now` (Unix ms). */
export function messageBody(m: NotifyMessage, format: NotifyFormat, now: number): string {
  if (format === 'slack') return JSON.stringify({ text: slackText(m) });
  return JSON.stringify({ type: m.type, timestamp: new Date(now).toISOString(), data: m.data });
}

export type { NotifyEvent };
