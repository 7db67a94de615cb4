// What every example app does with its events; only the web framework differs between them.
// In your app: import { createHookyard, type Hookyard } from 'hookyard';
import { createHookyard, type Hookyard } from '../src/index.ts';

export interface ExampleOptions {
  /** e.g. sqlite:./.hookyard/app.db */
  storage: string;
  stripeSecret: string;
  /** Called after a payment is handled (tests watch it). */
  onPayment?: (id: string, attempt: number, amount: number) => void | Promise<void>;
  port?: number;
}

export function createYard(options: ExampleOptions) {
  const yard = createHookyard({
    storage: options.storage,
    log_level: 'warn',
    sources: { stripe: { provider: 'stripe', secret: options.stripeSecret } },
  });
  yard.on(
    'stripe',
    'payment_intent.*',
    async (event) => {
      // Runs after the event is durably stored; a throw here is retried with backoff.
      // `event.payload` is typed from the `stripe` package: the union of Stripe's
      // payment_intent.* events, whose `data.object` is a `Stripe.PaymentIntent`.
      const intent = event.payload.data.object;
      await options.onPayment?.(event.payload.id, event.attempt, intent.amount);
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
