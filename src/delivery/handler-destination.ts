// A handler destination: in library mode, `yard.on(...)` handlers run as deliveries — leased,
// retried on throw with the same backoff, dead after max attempts — exactly like HTTP
// destinations. The handler gets the parsed payload and the bytes as received.
import { parsePayload } from '../ingest/payload.ts';
import type { Lease } from '../store/contract.ts';
import type { Target } from './dispatcher.ts';
import { type AttemptOutcome, attemptSignal } from './http-destination.ts';

/** What a handler receives. `payload` is the parsed body (JSON, or a form's `payload` field;
 * `undefined` if the verified body is neither). `Type` narrows `type` for typed providers. */
export interface HandlerEvent<T = unknown, Type extends string | null = string | null> {
  /** Hookyard's event id: the same on every attempt, a good idempotency key. */
  id: string;
  source: string;
  type: Type;
  payload: T;
  /** The body exactly as received and verified. */
  body: Uint8Array;
  headers: [string, string][];
  /** 1 on the first attempt. */
  attempt: number;
}

export type Handler<T = unknown> = (event: HandlerEvent<T>) => unknown;

export class HandlerTarget implements Target {
  readonly #handler: Handler;
  readonly #timeoutMs: number;

  constructor(handler: Handler, timeoutMs: number) {
    this.#handler = handler;
    this.#timeoutMs = timeoutMs;
  }

  async attempt(lease: Lease, stopping: AbortSignal): Promise<AttemptOutcome> {
    const parsed = parsePayload(lease.event.body, lease.event.contentType);
    const event: HandlerEvent = {
      id: lease.event.id,
      source: lease.event.source,
      type: lease.event.type,
      payload: parsed.ok ? parsed.value : undefined,
      body: lease.event.body,
      headers: lease.event.headers,
      attempt: lease.attempt,
    };
    const { signal, done } = attemptSignal(stopping, this.#timeoutMs);
    try {
      await new Promise((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        Promise.resolve()
          .then(() => this.#handler(event))
          .then(resolve, reject);
      });
      return { statusCode: 200, response: null, error: null };
    } catch (error) {
      return {
        response: null,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      };
    } finally {
      done();
    }
  }

  async close(): Promise<void> {}
}
