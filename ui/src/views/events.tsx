// The event list: filters and search kept in the URL, live arrivals, cursor paging ("older"),
// and bulk replay of what the filters select.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, isAbort } from '../api.ts';
import { useApp } from '../context.ts';
import { bytes, when } from '../format.ts';
import {
  apiFilters,
  type Filters,
  hasFilters,
  matches,
  NO_FILTERS,
  RANGES,
  STATUSES,
  type Summary,
} from '../route.ts';
import { BulkReplay } from './bulk-replay.tsx';
import { ErrorNote, Status } from './common.tsx';

const PAGE = 50;
const RANGE_NAMES: Record<keyof typeof RANGES, string> = {
  '15m': 'last 15 minutes',
  '1h': 'last hour',
  '24h': 'last 24 hours',
  '7d': 'last 7 days',
};
/** Live arrivals shown above the first page at most; past it they are counted in a banner. */
const MAX_LIVE = 500;

interface Page {
  data: Summary[];
  next_cursor: string | null;
}

/** Newest first, as the API pages them; an event older than every loaded one is left to the
 * older pages when there are more. */
function insert(rows: Summary[], e: Summary, more: boolean): Summary[] | undefined {
  if (rows.some((r) => r.id === e.id)) return undefined;
  const at = Date.parse(e.received_at);
  let i = 0;
  while (i < rows.length && Date.parse((rows[i] as Summary).received_at) > at) i++;
  if (i === rows.length && more) return undefined;
  return [...rows.slice(0, i), e, ...rows.slice(i)];
}

let firstListMarked = false;

export function EventList({ hidden }: { hidden: boolean }) {
  const { client, live, route, navigate } = useApp();
  const filters = route.filters;
  const key = JSON.stringify(filters);
  const [rows, setRows] = useState<Summary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [unseen, setUnseen] = useState(0);
  /** The older page being read, or why it could not be. */
  const [older, setOlder] = useState<{ loading: boolean; error?: unknown }>({ loading: false });
  const [reload, setReload] = useState(0);
  const [bulk, setBulk] = useState(false);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const cursorRef = useRef(cursor);
  cursorRef.current = cursor;
  /** The "now" relative ranges were computed at, so that older pages use the same window. */
  const anchor = useRef(Date.now());
  const searchUnavailable =
    error instanceof ApiError && error.code === 'query_invalid' && error.param === 'q';

  useEffect(() => {
    const abort = new AbortController();
    let loaded = false;
    const early: Summary[] = [];
    let liveCount = 0;
    setLoading(true);
    setError(null);
    rowsRef.current = [];
    cursorRef.current = null;
    setRows([]);
    setCursor(null);
    setUnseen(0);
    setOlder({ loading: false });
    anchor.current = Date.now();

    const arrive = (e: Summary) => {
      const fit = matches(filters, e);
      if (fit === false) return;
      if (fit === undefined || liveCount >= MAX_LIVE) {
        if (!rowsRef.current.some((r) => r.id === e.id)) setUnseen((n) => n + 1);
        return;
      }
      const next = insert(rowsRef.current, e, cursorRef.current !== null);
      if (!next) return;
      liveCount++;
      rowsRef.current = next;
      setRows(next);
    };
    // Subscribed before the first page is read: what arrives meanwhile is merged after it.
    const off = live.subscribe({
      event: (e) => (loaded ? arrive(e) : early.push(e)),
      changed: (e) => {
        if (!rowsRef.current.some((r) => r.id === e.id)) return;
        const next = rowsRef.current.map((r) => (r.id === e.id ? { ...r, status: e.status } : r));
        rowsRef.current = next;
        setRows(next);
      },
      watches: (id) => rowsRef.current.some((r) => r.id === id),
    });
    client
      .get<Page>('/events', { ...apiFilters(filters, anchor.current), limit: PAGE }, abort.signal)
      .then(
        (page) => {
          loaded = true;
          rowsRef.current = page.data;
          cursorRef.current = page.next_cursor;
          setRows(page.data);
          setCursor(page.next_cursor);
          setLoading(false);
          for (const e of early) arrive(e);
        },
        (err: unknown) => {
          if (isAbort(err)) return;
          setError(err);
          setLoading(false);
        },
      );
    return () => {
      abort.abort();
      off();
    };
  }, [key, reload]);

  // The time from navigation to the first list on screen, for the budget (≤ 1 s on loopback).
  useEffect(() => {
    if (!loading && !firstListMarked) {
      firstListMarked = true;
      requestAnimationFrame(() => performance.mark('hookyard:list-rendered'));
    }
  }, [loading]);

  // Back from the detail: the keyboard focus, lost with the detail, returns to the row that was
  // opened (unless something else took it, as `/` does).
  const lastOpened = useRef('');
  useEffect(() => {
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (!hidden && lastOpened.current && lost) {
      document
        .querySelector<HTMLElement>(`a[data-event="${CSS.escape(lastOpened.current)}"]`)
        ?.focus();
    }
  }, [hidden]);

  const loadOlder = () => {
    if (!cursor) return;
    setOlder({ loading: true });
    client
      .get<Page>('/events', { ...apiFilters(filters, anchor.current), limit: PAGE, cursor })
      .then(
        (page) => {
          const have = new Set(rowsRef.current.map((r) => r.id));
          const next = [...rowsRef.current, ...page.data.filter((e) => !have.has(e.id))];
          rowsRef.current = next;
          setRows(next);
          setCursor(page.next_cursor);
          setOlder({ loading: false });
        },
        (err: unknown) => setOlder({ loading: false, error: err }),
      );
  };

  const setFilters = (change: Partial<Filters>, replace = false) =>
    navigate({ ...route, filters: { ...filters, ...change } }, { replace });

  const sources = useMemo(() => [...new Set(rows.map((r) => r.source))].sort(), [rows]);

  return (
    <section class="page" hidden={hidden} aria-labelledby="events-title">
      <div class="page-head">
        <h1 id="events-title">Events</h1>
        <div class="actions">
          <button
            type="button"
            onClick={() => setBulk(true)}
            disabled={loading || rows.length === 0}
            title="Replay every event the filters select, after a count"
          >
            Replay these…
          </button>
        </div>
      </div>
      <FilterBar
        filters={filters}
        sources={sources}
        setFilters={setFilters}
        searchUnavailable={searchUnavailable}
      />
      {unseen > 0 && (
        <div class="banner info" role="status">
          <span>
            {unseen} new {unseen === 1 ? 'event' : 'events'} since this list was loaded
            {filters.q ? ' (a search is not updated live)' : ''}.
          </span>{' '}
          <button type="button" onClick={() => setReload((n) => n + 1)}>
            Show them
          </button>
        </div>
      )}
      {searchUnavailable ? (
        <p class="note" role="note">
          Search is not available on this gateway yet (it refused <code>q</code>). Clear the search
          to see the list.
        </p>
      ) : error ? (
        <ErrorNote error={error} />
      ) : null}
      <table class="events" hidden={rows.length === 0}>
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Received</th>
            <th scope="col">Source</th>
            <th scope="col">Type</th>
            <th scope="col">Event id</th>
            <th scope="col" class="num">
              Size
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id} data-id={e.id}>
              <td>
                <Status status={e.status} />
              </td>
              <td title={e.received_at}>{when(e.received_at)}</td>
              <td>{e.source}</td>
              <td>{e.type ?? <span class="muted">—</span>}</td>
              <td class="mono">
                <a
                  href={`?event=${encodeURIComponent(e.id)}`}
                  data-event={e.id}
                  onClick={(ev) => {
                    if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
                    ev.preventDefault();
                    lastOpened.current = e.id;
                    navigate({ ...route, event: e.id });
                  }}
                >
                  {e.event_id}
                </a>
              </td>
              <td class="num">{bytes(e.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && !error && rows.length === 0 && (
        <p class="empty">
          {!hasFilters(filters)
            ? 'No event has arrived yet.'
            : cursor
              ? // A page walks at most 5,000 events (the API's scan budget): more may be older.
                'No event matches these filters among the newest events searched so far.'
              : 'No event matches these filters.'}
        </p>
      )}
      {loading && <p class="empty">Loading…</p>}
      <div class="pager">
        {cursor && (
          <button type="button" onClick={loadOlder} disabled={older.loading}>
            {older.loading ? 'Loading…' : rows.length ? 'Older events' : 'Search older events'}
          </button>
        )}
        {older.error !== undefined && <ErrorNote error={older.error} />}
      </div>
      {bulk && <BulkReplay filters={filters} onClose={() => setBulk(false)} />}
    </section>
  );
}

function FilterBar(props: {
  filters: Filters;
  sources: string[];
  setFilters(change: Partial<Filters>, replace?: boolean): void;
  searchUnavailable: boolean;
}) {
  const { filters, setFilters } = props;
  // Text fields apply on Enter or after a pause in typing, without a history entry per key.
  const [q, setQ] = useState(filters.q);
  const [type, setType] = useState(filters.type);
  const [source, setSource] = useState(filters.source);
  useEffect(() => setQ(filters.q), [filters.q]);
  useEffect(() => setType(filters.type), [filters.type]);
  useEffect(() => setSource(filters.source), [filters.source]);
  const pending = useRef(0);
  const typed = (change: Partial<Filters>) => {
    window.clearTimeout(pending.current);
    pending.current = window.setTimeout(() => setFilters(change, true), 400);
  };
  const commit = (change: Partial<Filters>) => {
    window.clearTimeout(pending.current);
    setFilters(change);
  };
  const custom = filters.range === '' && (filters.since !== '' || filters.until !== '');
  const [showCustom, setShowCustom] = useState(custom);
  const toLocal = (iso: string) => {
    if (!iso) return '';
    const d = new Date(iso);
    return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  };
  const fromLocal = (value: string) => (value ? new Date(value).toISOString() : '');

  return (
    <form
      class="filters"
      role="search"
      onSubmit={(e) => e.preventDefault()}
      onKeyDown={(e) => {
        // Enter applies the text fields at once (a form of several fields has no implicit
        // submission without a submit button).
        if (e.key === 'Enter' && (e.target as HTMLElement).tagName === 'INPUT') {
          e.preventDefault();
          commit({ q: q.trim(), type: type.trim(), source: source.trim() });
        }
      }}
    >
      <label>
        Search
        <input
          id="search"
          type="search"
          placeholder="cus_123, evt_…  (press /)"
          value={q}
          aria-invalid={props.searchUnavailable}
          onInput={(e) => {
            setQ(e.currentTarget.value);
            typed({ q: e.currentTarget.value.trim() });
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') e.currentTarget.blur();
          }}
        />
      </label>
      <label>
        Source
        <input
          id="filter-source"
          list="known-sources"
          value={source}
          placeholder="any"
          onInput={(e) => {
            setSource(e.currentTarget.value);
            typed({ source: e.currentTarget.value.trim() });
          }}
        />
        <datalist id="known-sources">
          {props.sources.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </label>
      <label>
        Type
        <input
          id="filter-type"
          value={type}
          placeholder="payment_intent.*"
          onInput={(e) => {
            setType(e.currentTarget.value);
            typed({ type: e.currentTarget.value.trim() });
          }}
        />
      </label>
      <label>
        Status
        <select
          id="filter-status"
          value={filters.status}
          onChange={(e) => commit({ status: e.currentTarget.value })}
        >
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Received
        <select
          id="filter-range"
          value={showCustom ? 'custom' : filters.range}
          onChange={(e) => {
            const value = e.currentTarget.value;
            if (value === 'custom') {
              setShowCustom(true);
              return;
            }
            setShowCustom(false);
            commit({ range: value, since: '', until: '' });
          }}
        >
          <option value="">any time</option>
          {(Object.keys(RANGES) as (keyof typeof RANGES)[]).map((r) => (
            <option key={r} value={r}>
              {RANGE_NAMES[r]}
            </option>
          ))}
          <option value="custom">between…</option>
        </select>
      </label>
      {showCustom && (
        <>
          <label>
            From
            <input
              type="datetime-local"
              value={toLocal(filters.since)}
              onChange={(e) => commit({ range: '', since: fromLocal(e.currentTarget.value) })}
            />
          </label>
          <label>
            To
            <input
              type="datetime-local"
              value={toLocal(filters.until)}
              onChange={(e) => commit({ range: '', until: fromLocal(e.currentTarget.value) })}
            />
          </label>
        </>
      )}
      {hasFilters(filters) && (
        <button
          type="button"
          class="quiet"
          onClick={() => {
            setShowCustom(false);
            commit({ ...NO_FILTERS });
          }}
        >
          Clear
        </button>
      )}
    </form>
  );
}
