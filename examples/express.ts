// Hookyard in an Express app. The webhook route is mounted before express.json(): Hookyard
// must see the raw bytes the sender signed.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createYard, type ExampleOptions, type RunningExample } from './shared.ts';

export async function start(options: ExampleOptions): Promise<RunningExample> {
  const yard = createYard(options);
  const app = express();
  // Every method and path under /webhooks goes to Hookyard, so a GET or a malformed name
  // gets Hookyard's typed refusal rather than Express's own 404 or 400.
  app.use('/webhooks', yard.express());
  app.use(express.json()); // the rest of the app may parse JSON as usual
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  const server: Server = await new Promise((r) => {
    const s = app.listen(options.port ?? 3000, '127.0.0.1', () => r(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    yard,
    async close() {
      await new Promise((r) => server.close(r));
      await yard.close();
    },
  };
}
