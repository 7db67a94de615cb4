// What the dashboard shows lives in the URL's query string, so that a reload or a link sent to a
// colleague shows the same view: `?source=stripe&q=cus_123`, `?view=rejections`,
// `?event=hye_…`. The API token never goes here.

export const VIEWS = ['events', 'rejections', 'destinations', 'activity'] as const;
export type View = (typeof VIEWS)[number];

export const STATUSES = ['received', 'pending', 'failing', 'delivered', 'dead'] as const;

/** Relative time ranges, recomputed at each request so that "last hour" stays the last hour. */
export const RANGES = { '15m': 15 * 60, '1h': 3600, '24h': 86_400, '7d': 7 * 86_400 } as const;
export type Range = keyof typeof RANGES;

export interface Filters {
  source: string;
  type: string;
  status: string;
  /** A key of RANGES, or '' for none or a custom since/until. */
  range: string;
  /** ISO 8601 times ('' when unset), used when range is ''. */
  since: string;
  until: string;
  q: string;
}

export interface Route {
  view: View;
  /** The event whose detail is open. */
  event: string;
  filters: Filters;
}

export const NO_FILTERS: Filters = {
  source: '',
  type: '',
  status: '',
  range: '',
  since: '',
  until: '',
  q: '',
};

const FILTER_KEYS = Object.keys(NO_FILTERS) as (keyof Filters)[];

export function parseRoute(search: string): Route {
  const params = new URLSearchParams(search);
  const view = params.get('view') ?? 'events';
  const filters = { ...NO_FILTERS };
  for (const key of FILTER_KEYS) filters[key] = params.get(key)?.trim() ?? '';
  if (!(filters.range in RANGES)) filters.range = '';
  if (!(STATUSES as readonly string[]).includes(filters.status)) filters.status = '';
  return {
    view: (VIEWS as readonly string[]).includes(view) ? (view as View) : 'events',
    event: params.get('event') ?? '',
    filters,
  };
}

/** The query string for a route, empty values left out; '' for the default view. */
export function routeSearch(route: Route): string {
  const params = new URLSearchParams();
  if (route.view !== 'events') params.set('view', route.view);
  for (const key of FILTER_KEYS) {
    const value = route.filters[key];
    if (value !== '') params.set(key, value);
  }
  if (route.event !== '') params.set('event', route.event);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** The filters as the API takes them (GET /api/events query, POST /api/replay body). */
export function apiFilters(filters: Filters, now = Date.now()): Record<string, string> {
  const out: Record<string, string> = {};
  if (filters.source) out.source = filters.source;
  if (filters.type) out.type = filters.type;
  if (filters.status) out.status = filters.status;
  if (filters.range) {
    out.since = new Date(now - RANGES[filters.range as Range] * 1000).toISOString();
  } else {
    if (filters.since) out.since = filters.since;
    if (filters.until) out.until = filters.until;
  }
  if (filters.q) out.q = filters.q;
  return out;
}

export function hasFilters(filters: Filters): boolean {
  return FILTER_KEYS.some((key) => filters[key] !== '');
}

/** An event-type glob as the API reads it: `*` matches any run of characters. */
export function globMatch(glob: string, value: string | null): boolean {
  if (value === null) return false;
  const pattern = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(value);
}

export interface Summary {
  id: string;
  source: string;
  event_id: string;
  type: string | null;
  status: string;
  received_at: string;
  size: number;
}

/**
 * Whether an event that just arrived belongs in the list under these filters, decided here
 * without asking the server: true, false, or undefined when it cannot be told (a search).
 */
export function matches(filters: Filters, e: Summary, now = Date.now()): boolean | undefined {
  if (filters.source && e.source !== filters.source) return false;
  if (filters.type && !globMatch(filters.type, e.type)) return false;
  if (filters.status && e.status !== filters.status) return false;
  const at = Date.parse(e.received_at);
  const f = apiFilters({ ...filters, q: '' }, now);
  if (f.since && at < Date.parse(f.since)) return false;
  if (f.until && at >= Date.parse(f.until)) return false;
  return filters.q ? undefined : true;
}
