// Each destination's health from GET /api/destinations: the queue (pending, in flight, the
// oldest waiting), recent outcomes and dead letters.
import { useEffect, useState } from 'preact/hooks';
import { type Client, isAbort } from '../api.ts';
import { useApp } from '../context.ts';
import { age, text } from '../format.ts';
import { ErrorNote, isMissing, Page, Unavailable, useEvery } from './common.tsx';

export interface DestinationHealth {
  name: string;
  url: string;
  pending: number;
  in_flight: number;
  oldest_pending_age_s: number | null;
  delivered_5m: number;
  failed_5m: number;
  delivered_1h: number;
  failed_1h: number;
  dead: number;
  last_error: unknown;
}

type Health = 'failing' | 'degraded' | 'healthy' | 'idle';

/** A one-word verdict from the counts, for scanning a long list. */
export function health(d: DestinationHealth): Health {
  if (d.failed_5m > 0 && d.delivered_5m === 0) return 'failing';
  if (d.failed_5m > 0 || (d.oldest_pending_age_s ?? 0) > 300) return 'degraded';
  if (d.delivered_1h + d.failed_1h + d.pending + d.in_flight === 0) return 'idle';
  return 'healthy';
}

const names = new WeakMap<Client, Promise<string[]>>();

/** The configured destinations' names (for "replay to…"), or none on a gateway without the
 * route. Read once per sign-in. */
export function useDestinationNames(): string[] {
  const { client } = useApp();
  const [list, setList] = useState<string[]>([]);
  useEffect(() => {
    let promise = names.get(client);
    if (!promise) {
      promise = client
        .get<{ data: DestinationHealth[] }>('/destinations')
        .then((r) => r.data.map((d) => d.name))
        .catch(() => []);
      names.set(client, promise);
    }
    let current = true;
    void promise.then((n) => current && setList(n));
    return () => {
      current = false;
    };
  }, [client]);
  return list;
}

export function Destinations() {
  const { client } = useApp();
  const [data, setData] = useState<DestinationHealth[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEvery(
    5000,
    (signal) => {
      client.get<{ data: DestinationHealth[] }>('/destinations', {}, signal).then(
        (r) => {
          setData(r.data);
          setError(null);
        },
        (err: unknown) => !isAbort(err) && setError(err),
      );
    },
    [client],
  );
  if (isMissing(error)) {
    return (
      <Page title="Destinations">
        <Unavailable what="Destination health" route="GET /api/destinations" />
      </Page>
    );
  }
  return (
    <Page title="Destinations">
      {error ? <ErrorNote error={error} /> : null}
      {data && data.length === 0 && <p class="empty">No destination is configured.</p>}
      {data && data.length > 0 && (
        <div class="scroll">
          <table class="destinations">
            <thead>
              <tr>
                <th scope="col">Destination</th>
                <th scope="col">Health</th>
                <th scope="col" class="num">
                  Pending
                </th>
                <th scope="col" class="num">
                  In flight
                </th>
                <th scope="col" class="num">
                  Oldest waiting
                </th>
                <th scope="col" class="num">
                  Delivered 5 min / 1 h
                </th>
                <th scope="col" class="num">
                  Failed 5 min / 1 h
                </th>
                <th scope="col" class="num">
                  Dead
                </th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {data.map((d) => {
                const h = health(d);
                return (
                  <tr key={d.name} data-destination={d.name}>
                    <th scope="row">
                      {d.name}
                      <div class="muted small mono">{d.url}</div>
                    </th>
                    <td>
                      <span class={`health health-${h}`}>{h}</span>
                    </td>
                    <td class="num">{d.pending}</td>
                    <td class="num">{d.in_flight}</td>
                    <td class="num">{age(d.oldest_pending_age_s)}</td>
                    <td class="num">
                      {d.delivered_5m} / {d.delivered_1h}
                    </td>
                    <td class={d.failed_5m > 0 ? 'num bad' : 'num'}>
                      {d.failed_5m} / {d.failed_1h}
                    </td>
                    <td class={d.dead > 0 ? 'num bad' : 'num'}>{d.dead}</td>
                    <td class="wrap">{text(d.last_error) || <span class="muted">—</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {!data && !error && <p class="empty">Loading…</p>}
    </Page>
  );
}
