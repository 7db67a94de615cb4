// OpenTelemetry tracing, printed to the console: register an SDK, then start the gateway.
// Hookyard itself depends only on @opentelemetry/api; the SDK is the application's choice
// (here the two small packages below; in production usually @opentelemetry/sdk-node with an
// OTLP exporter to your collector):
//   npm install @opentelemetry/sdk-trace-base @opentelemetry/context-async-hooks
//
//   node examples/tracing-console.ts [hookyard.yaml]
//
// With a file, its gateway runs traced until Ctrl-C. Without one, a demo: a gateway with one
// Standard Webhooks source and a local app to deliver to, one signed event sent to it (with a
// `traceparent`, as a traced sender would), and its trace printed — the ingest span, then the
// delivery attempt span as its child, then the app's request carrying the attempt's context.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
// In your app: import { loadConfig, parseConfigText, startGateway } from 'hookyard'.
import { loadConfig, parseConfigText } from '../src/config.ts';
import { startGateway } from '../src/gateway.ts';
import { nodeSigner } from '../src/verify/node.ts';
import { sign } from '../src/verify/standard-webhooks.ts';

// 1. The SDK, before the gateway starts: a context manager (so spans nest across awaits) and a
//    tracer provider whose spans go to the console as they end.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const provider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
});
trace.setGlobalTracerProvider(provider);

const file = process.argv[2];
if (file) {
  // 2a. Your gateway, traced.
  const gateway = await startGateway(loadConfig(file));
  const stop = async () => {
    await gateway.close();
    await provider.shutdown();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else {
  // 2b. The demo: an app that logs what it receives …
  const app = createServer((req, res) => {
    console.log(`app: ${req.method} ${req.url} traceparent=${req.headers.traceparent}`);
    req.resume().on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/hooks`;
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const gateway = await startGateway(
    parseConfigText(
      `
storage: "sqlite::memory:"
server: { port: 0 }
log_level: warn
api: { token: demo-token }
sources: { demo: { provider: standard-webhooks, secret: ${secret} } }
destinations: { app: { url: ${appUrl} } }
routes: [{ source: demo, to: app }]
`,
      {},
    ),
  );
  // … and a sender whose own trace the event joins.
  const id = `msg_${Date.now()}`;
  const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_123' } });
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signed = sign(
    { secret: key, id, timestamp: Math.floor(Date.now() / 1000), body },
    nodeSigner,
  );
  const res = await fetch(`${gateway.url}/webhooks/demo`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      ...signed,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    },
  });
  console.log(`sender: ${res.status} ${await res.text()}`);
  await new Promise((r) => setTimeout(r, 500)); // the delivery
  await gateway.close();
  await provider.shutdown();
  app.close();
}
