// One event: its headers, its body (pretty JSON or raw, always as text), every delivery with
// its attempts, and replay to its destinations or one chosen.
import { useEffect, useRef, useState } from 'preact/hooks';
import { isAbort } from '../api.ts';
import { useApp } from '../context.ts';
import { bytes, ms, pretty, relative, text, when } from '../format.ts';
import type { Delivery, Detail } from '../live.ts';
import { ErrorNote, isMissing, Status } from './common.tsx';
import { useDestinationNames } from './destinations.tsx';

export function EventDetail({ id }: { id: string }) {
  const { client, live, route, navigate } = useApp();
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const close = () => navigate({ ...route, event: '' });

  useEffect(() => {
    const abort = new AbortController();
    client.get<Detail>(`/events/${encodeURIComponent(id)}`, {}, abort.signal).then(
      (d) => {
        setDetail(d);
        setError(null);
      },
      (err: unknown) => !isAbort(err) && setError(err),
    );
    return () => abort.abort();
  }, [client, id, reload]);

  useEffect(
    () =>
      live.subscribe({
        watches: (x) => x === id,
        changed: (e, d) => {
          if (e.id !== id) return;
          if (d) setDetail(d);
          else setReload((n) => n + 1);
        },
      }),
    [live, id],
  );

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      if ((e.target as HTMLElement | null)?.closest('dialog, input, select, textarea')) return;
      close();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  });

  return (
    <section class="page detail" aria-labelledby="detail-title">
      <div class="page-head">
        <button type="button" class="quiet back" onClick={close} title="Back to the list (Escape)">
          ← Events
        </button>
        <h1 id="detail-title" tabIndex={-1} ref={heading} class="mono">
          {detail?.event_id ?? id}
        </h1>
        {detail && <Status status={detail.status} />}
      </div>
      {isMissing(error) ? (
        <p class="note" role="note">
          No event <code>{id}</code> (it may have been pruned by retention).
        </p>
      ) : error ? (
        <ErrorNote error={error} />
      ) : null}
      {!detail && !error && <p class="empty">Loading…</p>}
      {detail && (
        <>
          <dl class="kv">
            <div>
              <dt>Hookyard id</dt>
              <dd class="mono">{detail.id}</dd>
            </div>
            <div>
              <dt>Source</dt>
              <dd>{detail.source}</dd>
            </div>
            <div>
              <dt>Type</dt>
              <dd>{detail.type ?? '—'}</dd>
            </div>
            <div>
              <dt>Received</dt>
              <dd title={detail.received_at}>
                {when(detail.received_at)} ({relative(detail.received_at)})
              </dd>
            </div>
            <div>
              <dt>Size</dt>
              <dd>{bytes(detail.size)}</dd>
            </div>
            <div>
              <dt>Content type</dt>
              <dd class="mono">{detail.content_type ?? '—'}</dd>
            </div>
          </dl>
          <Replay detail={detail} onDone={() => live.refresh(id)} />
          <div class="columns">
            <section aria-labelledby="body-title" class="card">
              <BodyView detail={detail} />
            </section>
            <section aria-labelledby="headers-title" class="card">
              <h2 id="headers-title">Headers</h2>
              <table class="headers">
                <tbody>
                  {detail.headers.map(([name, value], i) => (
                    <tr key={i}>
                      <th scope="row" class="mono">
                        {name}
                      </th>
                      <td class="mono wrap">{value}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          </div>
          <section aria-labelledby="deliveries-title">
            <h2 id="deliveries-title">Deliveries</h2>
            {detail.deliveries.length === 0 && (
              <p class="empty">No route sends this event anywhere.</p>
            )}
            {detail.deliveries.map((d) => (
              <DeliveryView key={d.id} delivery={d} />
            ))}
          </section>
        </>
      )}
    </section>
  );
}

function BodyView({ detail }: { detail: Detail }) {
  const { client } = useApp();
  const binary = detail.body_encoding === 'base64';
  const [mode, setMode] = useState<'pretty' | 'raw'>('pretty');
  const shown = binary || mode === 'raw' ? detail.body : pretty(detail.body);
  // The raw bytes are fetched with the token and saved from a blob: a link cannot carry it.
  const download = async () => {
    const blob = await client.body(detail.id);
    const href = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = href;
    a.download = `${detail.id}.body`;
    a.click();
    window.setTimeout(() => URL.revokeObjectURL(href), 10_000);
  };
  return (
    <>
      <div class="card-head">
        <h2 id="body-title">Body</h2>
        {!binary && (
          <div class="toggle" role="group" aria-label="Body view">
            <button
              type="button"
              aria-pressed={mode === 'pretty'}
              onClick={() => setMode('pretty')}
            >
              Pretty
            </button>
            <button type="button" aria-pressed={mode === 'raw'} onClick={() => setMode('raw')}>
              Raw
            </button>
          </div>
        )}
        <button type="button" class="quiet" onClick={download}>
          Download
        </button>
      </div>
      {binary && <p class="muted small">Not UTF-8: shown as base64.</p>}
      {/* Text only: whatever the body holds, it is never parsed as HTML. */}
      <pre class="body" id="event-body" tabIndex={0}>
        {shown}
      </pre>
    </>
  );
}

function DeliveryView({ delivery: d }: { delivery: Delivery }) {
  return (
    <article class="card delivery" data-delivery={d.destination}>
      <div class="card-head">
        <h3>{d.destination}</h3>
        <Status status={d.status} />
        {d.next_attempt_at && d.status !== 'delivered' && d.status !== 'dead' && (
          <span class="muted small" title={d.next_attempt_at}>
            next attempt {relative(d.next_attempt_at)}
          </span>
        )}
      </div>
      {d.last_error && d.status !== 'delivered' && (
        <p class="error small">Last error: {text(d.last_error)}</p>
      )}
      {d.attempts.length === 0 ? (
        <p class="muted small">No attempt yet.</p>
      ) : (
        <ol class="attempts">
          {d.attempts.map((a) => (
            <li key={a.n} class={`attempt outcome-${a.outcome}`}>
              <span class="n">#{a.n}</span>
              <span title={a.at ?? ''}>{when(a.at)}</span>
              <span class="code">{a.status_code ?? '—'}</span>
              <span>{ms(a.duration_ms)}</span>
              <span class="outcome">{a.outcome}</span>
              {a.error && <span class="error wrap">{a.error}</span>}
              {a.response && (
                <details>
                  <summary>Response</summary>
                  <pre class="response">{a.response}</pre>
                </details>
              )}
            </li>
          ))}
        </ol>
      )}
    </article>
  );
}

function Replay({ detail, onDone }: { detail: Detail; onDone(): void }) {
  const { client } = useApp();
  const configured = useDestinationNames();
  const names = [
    ...new Set([...detail.deliveries.map((d) => d.destination), ...configured]),
  ].sort();
  const [destination, setDestination] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string>('');
  const [error, setError] = useState<unknown>(null);
  const replay = async (to: string) => {
    setBusy(true);
    setError(null);
    setResult('');
    try {
      const r = await client.post<{ deliveries: { id: string; destination: string }[] }>(
        `/events/${encodeURIComponent(detail.id)}/replay`,
        to ? { destination: to } : {},
      );
      setResult(
        r.deliveries.length === 0
          ? 'Nothing to replay: no route sends this event anywhere.'
          : `Replay queued to ${r.deliveries.map((d) => d.destination).join(', ')}.`,
      );
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="replay" role="group" aria-label="Replay">
      <button
        type="button"
        class="primary"
        id="replay-all"
        disabled={busy}
        onClick={() => replay('')}
      >
        Replay to its destinations
      </button>
      {names.length > 0 && (
        <>
          <label class="inline">
            or to
            <select
              id="replay-destination"
              value={destination}
              onChange={(e) => setDestination(e.currentTarget.value)}
            >
              <option value="">choose…</option>
              {names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            id="replay-one"
            disabled={busy || destination === ''}
            onClick={() => replay(destination)}
          >
            Replay
          </button>
        </>
      )}
      {result && (
        <span class="ok" role="status" id="replay-result">
          {result}
        </span>
      )}
      {error ? <ErrorNote error={error} /> : null}
    </div>
  );
}
