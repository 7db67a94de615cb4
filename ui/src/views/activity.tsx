// Events received, delivered and failed over time, from GET /api/series. The chart library is
// loaded only when this view opens, so the list does not wait for it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { isAbort } from '../api.ts';
import { useApp } from '../context.ts';
import { ErrorNote, isMissing, Page, Unavailable, useEvery } from './common.tsx';

export interface Series {
  bucket_s: number;
  data: { t: string; received: number; delivered: number; failed: number }[];
}

const WINDOWS = {
  '1h': 'last hour',
  '6h': 'last 6 hours',
  '24h': 'last 24 hours',
  '7d': 'last 7 days',
};
type Window = keyof typeof WINDOWS;

export function Activity() {
  const { client } = useApp();
  const [window_, setWindow] = useState<Window>('1h');
  const [series, setSeries] = useState<Series | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEvery(
    15_000,
    (signal) => {
      client.get<Series>('/series', { window: window_ }, signal).then(
        (s) => {
          setSeries(s);
          setError(null);
        },
        (err: unknown) => !isAbort(err) && setError(err),
      );
    },
    [client, window_],
  );
  const totals = series?.data.reduce(
    (t, b) => ({
      received: t.received + b.received,
      delivered: t.delivered + b.delivered,
      failed: t.failed + b.failed,
    }),
    { received: 0, delivered: 0, failed: 0 },
  );
  if (isMissing(error)) {
    return (
      <Page title="Activity">
        <Unavailable what="The activity chart" route="GET /api/series" />
      </Page>
    );
  }
  return (
    <Page
      title="Activity"
      actions={
        <label class="inline">
          Window
          <select
            id="series-window"
            value={window_}
            onChange={(e) => setWindow(e.currentTarget.value as Window)}
          >
            {(Object.keys(WINDOWS) as Window[]).map((w) => (
              <option key={w} value={w}>
                {WINDOWS[w]}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {error ? <ErrorNote error={error} /> : null}
      {totals && (
        <ul class="totals" aria-label={`Totals over the ${WINDOWS[window_]}`}>
          <li class="received">
            <b>{totals.received.toLocaleString('en')}</b> received
          </li>
          <li class="delivered">
            <b>{totals.delivered.toLocaleString('en')}</b> delivered
          </li>
          <li class="failed">
            <b>{totals.failed.toLocaleString('en')}</b> failed
          </li>
        </ul>
      )}
      {series && <Chart series={series} />}
      {!series && !error && <p class="empty">Loading…</p>}
    </Page>
  );
}

function Chart({ series }: { series: Series }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<{ update(s: Series): void; destroy(): void } | null>(null);
  const latest = useRef(series);
  latest.current = series;
  const [failed, setFailed] = useState<unknown>(null);

  useEffect(() => {
    let stopped = false;
    import('../chart.ts').then(
      ({ drawChart }) => {
        if (stopped || !box.current) return;
        chart.current = drawChart(box.current, latest.current);
      },
      (err: unknown) => setFailed(err),
    );
    return () => {
      stopped = true;
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);
  useEffect(() => chart.current?.update(series), [series]);

  return (
    <>
      {failed ? <ErrorNote error={failed} /> : null}
      <div class="chart" role="img" aria-label="Events received, delivered and failed over time">
        <div ref={box} />
      </div>
    </>
  );
}
