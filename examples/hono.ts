// Hookyard in a Hono app through the fetch adapter (the same code runs on Bun, Deno, Workers).
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createYard, type ExampleOptions, type RunningExample } from './shared.ts';

export async function start(options: ExampleOptions): Promise<RunningExample> {
  const yard = createYard(options);
  const app = new Hono();
  // Every method: a GET gets Hookyard's 405, not Hono's 404. The source is the path's last
  // segment, decoded by Hookyard (a malformed escape is a 404, never a crash).
  app.all('/webhooks/:source', (c) => yard.fetch(c.req.raw));
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
