// The retry policy, defined once (docs/spec.md §4): what an attempt's outcome means and when the next
// one may start.
import type { Verdict } from '../store/contract.ts';

export interface RetrySettings {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * The wait before attempt n+1 after attempt n failed: a random point in [d/2, d] with
 * d = min(backoff_max, backoff_base · 2^(n−1)) — "equal jitter", so that many deliveries that
 * failed together do not retry together.
 */
export function backoffMs(attempt: number, s: RetrySettings, random = Math.random): number {
  const d = Math.min(s.backoffMaxMs, s.backoffBaseMs * 2 ** (attempt - 1));
  return d / 2 + random() * (d / 2);
}

/** `Retry-After` as seconds or an HTTP date, in ms from now; undefined when unreadable. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface AttemptResult {
  /** HTTP status, or undefined for a timeout, a connection error or a handler that threw. */
  statusCode?: number;
  retryAfter?: string;
}

export function judge(
  attempt: number,
  result: AttemptResult,
  s: RetrySettings,
  now: number,
): Verdict {
  const code = result.statusCode;
  if (code !== undefined && code >= 200 && code < 300) return { status: 'delivered' };
  // 410 Gone: the endpoint says it will never take this (Standard Webhooks spec).
  if (code === 410) return { status: 'dead', reason: '410 Gone' };
  if (attempt >= s.maxAttempts) return { status: 'dead', reason: `${attempt} attempts failed` };
  const asked = retryAfterMs(result.retryAfter, now);
  const wait = asked === undefined ? backoffMs(attempt, s) : Math.min(asked, s.backoffMaxMs);
  // Whole milliseconds: the stores keep times as integers (PostgreSQL's bigint refuses a
  // fraction, and refused the whole batch of attempt records with it).
  return { status: 'pending', nextAt: Math.round(now + wait) };
}
