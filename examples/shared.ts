// What every example app does with its events; only the web framework differs between them.
// In your app: import { createHookyard, type Hookyard } from 'hookyard';
import { createHookyard, type Hookyard } from '../src/index.ts';

export interface ExampleOptions {
  /** e.g. sqlite:./.hookyard/app.db */
  storage: string;
  stripeSecret: string;
  /** Called after a payment is handled (tests watch it). */
  onPayment?: (id: string, attempt: number) => void | Promise<void>;
  port?: number;
}

export function createYard(options: ExampleOptions): Hookyard {
  const yard = createHookyard({
    storage: options.storage,
    log_level: 'warn',
    sources: { stripe: { provider: 'stripe', secret: options.stripeSecret } },
  });
  yard.on<{ id: string; data: { object: { amount: number } } }>(
    'stripe',
    'payment_intent.*',
    async (event) => {
      // Runs after the event is durably stored; a throw here is retried with backoff.
      await options.onPayment?.(event.payload.id, event.attempt);
    },
    { backoffBaseMs: 100 },
  );
  return yard;
}

export interface RunningExample {
  url: string;
  yard: Hookyard;
  close(): Promise<void>;
}
