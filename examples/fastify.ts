// Hookyard as a Fastify plugin: POST /webhooks/:source, with its own raw-body parser.
import Fastify from 'fastify';
import { createYard, type ExampleOptions, type RunningExample } from './shared.ts';

export async function start(options: ExampleOptions): Promise<RunningExample> {
  const yard = createYard(options);
  const app = Fastify();
  await app.register(yard.fastify(), { prefix: '/webhooks' });
  const address = await app.listen({ port: options.port ?? 3000, host: '127.0.0.1' });
  return {
    url: `${address}/webhooks/stripe`,
    yard,
    async close() {
      await app.close();
      await yard.close();
    },
  };
}
