// Hookyard on a bare node:http server: POST /webhooks/stripe.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYard, type ExampleOptions, type RunningExample } from './shared.ts';

export async function start(options: ExampleOptions): Promise<RunningExample> {
  const yard = createYard(options);
  const handle = yard.node();
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/webhooks/')) return handle(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(options.port ?? 3000, '127.0.0.1', r));
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
