// GET /api/destinations: every configured destination's health — its queue (pending, in
// flight, the oldest waiting, dead) read from the store through indexes, and its recent
// outcomes and newest error from the per-minute counts (src/store/series.ts).
import type { z } from 'zod';
import type { Config } from '../config.ts';
import { jsonReply, type Reply } from '../errors.ts';
import type { ActivityCounter } from '../store/series.ts';
import type { destinationsJson } from './schemas.ts';

/**
 * A destination's URL as the API shows it: without user info and fragment, and with the
 * values of its query parameters masked — each may carry a credential
 * (`https://user:pass@host/hook?token=…`). Names stay, so that the URL is still recognisable.
 */
export function shownUrl(url: URL): string {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  shown.hash = '';
  if (shown.search.length > 1) {
    shown.search = shown.search
      .slice(1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        return eq < 0 ? '***' : `${pair.slice(0, eq)}=***`;
      })
      .join('&');
  }
  return shown.href;
}

export async function listDestinations(
  config: Pick<Config, 'destinations'>,
  activity: ActivityCounter,
  now = Date.now(),
): Promise<Reply> {
  const destinations = [...config.destinations.values()];
  const reports = await activity.health(
    destinations.map((d) => d.name),
    now,
  );
  const data = destinations.map((d, i) => {
    const r = reports[i];
    if (r?.destination !== d.name) throw new Error(`no health for destination ${d.name}`);
    return {
      name: d.name,
      url: shownUrl(d.url),
      pending: r.pending,
      in_flight: r.inFlight,
      oldest_pending_age_s:
        r.oldestPendingAt === null
          ? null
          : Math.max(0, Math.floor((now - r.oldestPendingAt) / 1000)),
      delivered_5m: r.delivered5m,
      failed_5m: r.failed5m,
      delivered_1h: r.delivered1h,
      failed_1h: r.failed1h,
      dead: r.dead,
      last_error: r.lastError?.error ?? null,
    };
  });
  return jsonReply(200, { data } satisfies z.output<typeof destinationsJson>);
}
