// Hookyard in a Hono app through the fetch adapter (the same code runs on Bun, Deno, Workers).
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createYard, type ExampleOptions, type RunningExample } from './shared.ts';

export async function start(options: ExampleOptions): Promise<RunningExample> {
  const yard = createYard(options);
  const app = new Hono();
  app.post('/webhooks/:source', (c) => yard.fetch(c.req.raw, c.req.param('source')));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 3000, hostname: '127.0.0.1' }, () =>
      resolve(s),
    );
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    yard,
    async close() {
      await new Promise((r) => server.close(r));
      await yard.close();
    },
  };
}
