// Routes: which destinations an event goes to. A route names a source, event-type globs and an
// optional payload filter; every matching route adds its destinations (fan-out), once each.
//
// Filter grammar — a mapping from a path to a condition, all of which must hold:
//   "$.ref": "refs/heads/main"            equal (strings, numbers, booleans, null)
//   "$.data.object.amount": { $gte: 100 } $eq $ne $gt $gte $lt $lte
//   "$.action": { $in: [opened, edited] } $in / $nin: one of a list
//   "$.pull_request": { $exists: true }   present (not undefined), or absent with false
// Paths are `$.` and dot-separated keys; a numeric key indexes an array (`$.commits.0.id`).

import type { Condition, RouteConfig } from '../config.ts';
import { valueAtPath } from '../json-path.ts';

export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined; // different kinds never compare
}

export function holds(value: unknown, condition: Condition): boolean {
  if (condition === null || typeof condition !== 'object') return value === condition;
  const c = condition;
  if (c.$exists !== undefined && (value !== undefined) !== c.$exists) return false;
  if ('$eq' in c && value !== c.$eq) return false;
  if ('$ne' in c && value === c.$ne) return false;
  if (c.$in && !c.$in.includes(value)) return false;
  if (c.$nin?.includes(value)) return false;
  const bounds: [keyof typeof c, (d: number) => boolean][] = [
    ['$gt', (d) => d > 0],
    ['$gte', (d) => d >= 0],
    ['$lt', (d) => d < 0],
    ['$lte', (d) => d <= 0],
  ];
  for (const [op, ok] of bounds) {
    if (c[op] === undefined) continue;
    const d = compare(value, c[op]);
    if (d === undefined || !ok(d)) return false;
  }
  return true;
}

interface CompiledRoute {
  types: RegExp[];
  filter: [string, Condition][];
  to: string[];
}

export interface RoutedEvent {
  source: string;
  type: string | null;
  /** Called at most once, only when some route has a filter: parsing is paid only then. */
  payload(): unknown;
}

export class Router {
  readonly #bySource = new Map<string, CompiledRoute[]>();

  constructor(routes: readonly RouteConfig[]) {
    for (const r of routes) this.add(r);
  }

  /** Adds a route after start (the library's `yard.on`); it applies to events stored later. */
  add(r: RouteConfig): void {
    const list = this.#bySource.get(r.source) ?? [];
    list.push({ types: r.events.map(globToRegExp), filter: Object.entries(r.filter), to: r.to });
    this.#bySource.set(r.source, list);
  }

  /** Destination names for the event, each once, in route order. */
  route(event: RoutedEvent): string[] {
    const routes = this.#bySource.get(event.source);
    if (!routes) return [];
    const out: string[] = [];
    let payload: unknown;
    let parsed = false;
    for (const r of routes) {
      if (r.types.length > 0) {
        const type = event.type ?? '';
        if (!r.types.some((re) => re.test(type))) continue;
      }
      if (r.filter.length > 0) {
        if (!parsed) {
          payload = event.payload();
          parsed = true;
        }
        if (!r.filter.every(([path, c]) => holds(valueAtPath(payload, path), c))) continue;
      }
      for (const d of r.to) if (!out.includes(d)) out.push(d);
    }
    return out;
  }
}
