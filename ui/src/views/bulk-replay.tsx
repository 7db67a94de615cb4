// Bulk replay of the current filters: a dry run first shows how many events and deliveries it
// would create; nothing is sent until that count is confirmed.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import { useApp } from '../context.ts';
import { apiFilters, type Filters } from '../route.ts';
import { ErrorNote } from './common.tsx';
import { useDestinationNames } from './destinations.tsx';

interface Count {
  dry_run: boolean;
  events: number;
  deliveries: number;
  truncated: boolean;
}

const plural = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

export function BulkReplay({ filters, onClose }: { filters: Filters; onClose(): void }) {
  const { client } = useApp();
  const dialog = useRef<HTMLDialogElement>(null);
  const names = useDestinationNames();
  const [destination, setDestination] = useState('');
  const [count, setCount] = useState<Count | null>(null);
  const [done, setDone] = useState<Count | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // The same filters for the count and the run, relative ranges included.
  const body = useRef<Record<string, string>>(apiFilters(filters));

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  useEffect(() => {
    let current = true;
    setCount(null);
    setError(null);
    client
      .post<Count>('/replay', {
        ...body.current,
        ...(destination && { destination }),
        dry_run: true,
      })
      .then(
        (c) => current && setCount(c),
        (err: unknown) => current && setError(err),
      );
    return () => {
      current = false;
    };
  }, [client, destination]);

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setDone(
        await client.post<Count>('/replay', {
          ...body.current,
          ...(destination && { destination }),
          dry_run: false,
        }),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const searchRefused = error instanceof ApiError && error.param === 'q';
  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="bulk-title" onClose={onClose}>
      <h2 id="bulk-title">Replay these events</h2>
      <dl class="kv small">
        {Object.entries(body.current).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
        {Object.keys(body.current).length === 0 && (
          <div>
            <dt>filters</dt>
            <dd>none: every stored event</dd>
          </div>
        )}
      </dl>
      {names.length > 0 && !done && (
        <label>
          Deliver to
          <select
            id="bulk-destination"
            value={destination}
            onChange={(e) => setDestination(e.currentTarget.value)}
          >
            <option value="">the destinations each event went to</option>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      )}
      {done ? (
        <p class="count" role="status" id="bulk-done">
          Replayed {plural(done.events, 'event')}:{' '}
          {plural(done.deliveries, 'new delivery', 'new deliveries')} created.
        </p>
      ) : count ? (
        <p class="count" role="status" id="bulk-count">
          {plural(count.events, 'event')}, {plural(count.deliveries, 'delivery', 'deliveries')}
          {count.truncated && ' (stopped at the limit: refine the filters to replay the rest)'}
        </p>
      ) : searchRefused ? (
        <p class="note" role="note">
          This gateway cannot replay by search yet: clear the search, or replay events one by one.
        </p>
      ) : error ? (
        <ErrorNote error={error} />
      ) : (
        <p class="count muted" role="status">
          Counting…
        </p>
      )}
      {done && error ? <ErrorNote error={error} /> : null}
      <div class="actions">
        {!done && (
          <button
            type="button"
            class="primary"
            id="bulk-confirm"
            disabled={!count || count.deliveries === 0 || busy}
            onClick={run}
          >
            {busy ? 'Replaying…' : count ? `Replay ${plural(count.events, 'event')}` : 'Replay'}
          </button>
        )}
        <button type="button" onClick={() => dialog.current?.close()}>
          {done ? 'Close' : 'Cancel'}
        </button>
      </div>
    </dialog>
  );
}
