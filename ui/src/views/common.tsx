// Small pieces the views share.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError } from '../api.ts';

export function Status({ status }: { status: string }) {
  return <span class={`status status-${status}`}>{status}</span>;
}

/** A feature this gateway does not serve (its route answers 404): said once, in place. */
export function Unavailable({ what, route }: { what: string; route: string }) {
  return (
    <p class="note" role="note">
      {what} is not available on this gateway (<code>{route}</code> answered 404). It arrives with a
      newer Hookyard.
    </p>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  const text =
    error instanceof ApiError
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? error.message
        : String(error);
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

export const isMissing = (error: unknown) => error instanceof ApiError && error.status === 404;

/** Calls `tick` now and every `ms` while mounted (and `deps` are unchanged). */
export function useEvery(ms: number, tick: (signal: AbortSignal) => void, deps: unknown[]) {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    const abort = new AbortController();
    saved.current(abort.signal);
    const timer = window.setInterval(() => saved.current(abort.signal), ms);
    return () => {
      abort.abort();
      window.clearInterval(timer);
    };
  }, deps);
}

export function Page(props: {
  title: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <section class="page" aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title">{props.title}</h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </div>
      {props.children}
    </section>
  );
}
