// Requests the gateway refused (bad signature, unknown source, too large…), newest first: the
// reason, the source and when. The log is in memory, so it starts empty at each start.
import { useState } from 'preact/hooks';
import { isAbort } from '../api.ts';
import { useApp } from '../context.ts';
import { bytes, when } from '../format.ts';
import { ErrorNote, Page, useEvery } from './common.tsx';

interface Rejection {
  at: string;
  source: string;
  name?: string;
  code: string;
  status: number;
  message: string;
  remote_address: string | null;
  size: number | null;
}

interface Rejections {
  total: number;
  counts: { source: string; code: string; count: number }[];
  data: Rejection[];
}

export function Rejections() {
  const { client } = useApp();
  const [data, setData] = useState<Rejections | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEvery(
    5000,
    (signal) => {
      client.get<Rejections>('/rejections', { limit: 200 }, signal).then(
        (r) => {
          setData(r);
          setError(null);
        },
        (err: unknown) => !isAbort(err) && setError(err),
      );
    },
    [client],
  );
  return (
    <Page title="Rejections">
      {error ? <ErrorNote error={error} /> : null}
      {data && (
        <>
          <p class="muted">
            {data.total.toLocaleString('en')} refused since the gateway started
            {data.total > data.data.length ? `; the latest ${data.data.length} below` : ''}.
          </p>
          {data.counts.length > 0 && (
            <ul class="chips" aria-label="Refusals by source and reason">
              {data.counts.map((c) => (
                <li key={`${c.source} ${c.code}`}>
                  <span>{c.source || '—'}</span> <code>{c.code}</code> <b>× {c.count}</b>
                </li>
              ))}
            </ul>
          )}
          {data.data.length === 0 ? (
            <p class="empty">No request has been refused.</p>
          ) : (
            <div class="scroll">
              <table class="rejections">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Source</th>
                    <th scope="col">Reason</th>
                    <th scope="col" class="num">
                      Status
                    </th>
                    <th scope="col">Message</th>
                    <th scope="col">From</th>
                    <th scope="col" class="num">
                      Size
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.data.map((r, i) => (
                    <tr key={`${r.at} ${i}`}>
                      <td title={r.at}>{when(r.at)}</td>
                      <td>
                        {r.name === undefined ? (
                          r.source
                        ) : (
                          <>
                            {r.name} <span class="muted small">(not configured)</span>
                          </>
                        )}
                      </td>
                      <td>
                        <code>{r.code}</code>
                      </td>
                      <td class="num">{r.status}</td>
                      <td class="wrap">{r.message}</td>
                      <td class="mono">{r.remote_address ?? '—'}</td>
                      <td class="num">{r.size === null ? '—' : bytes(r.size)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
      {!data && !error && <p class="empty">Loading…</p>}
    </Page>
  );
}
