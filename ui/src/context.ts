// What every view needs: the API client, the live updates, the route and a way to change it.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Client } from './api.ts';
import type { Live } from './live.ts';
import type { Route } from './route.ts';

export interface Ctx {
  client: Client;
  live: Live;
  route: Route;
  /** Shows another route; `replace` for a refinement (typing a filter) rather than a new page. */
  navigate(next: Route, options?: { replace?: boolean }): void;
}

export const AppContext = createContext<Ctx | null>(null);

export function useApp(): Ctx {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error('useApp outside the dashboard');
  return ctx;
}
