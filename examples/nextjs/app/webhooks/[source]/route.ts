// A Next.js App Router route handler: app/webhooks/[source]/route.ts. Next hands the raw
// Request through, so the fetch adapter verifies the exact bytes.
// In your app: import { createHookyard } from 'hookyard';
import { createYard } from '../../../../shared.ts';

// One engine per server process (module scope), as Next keeps route modules loaded.
export const yard = createYard({
  storage: process.env.HOOKYARD_STORAGE ?? 'sqlite:./.hookyard/next.db',
  stripeSecret: process.env.STRIPE_WEBHOOK_SECRET ?? 'whsec_dev_stripe_secret',
});

export async function POST(request: Request, context: { params: Promise<{ source: string }> }) {
  const { source } = await context.params;
  return yard.fetch(request, source);
}
