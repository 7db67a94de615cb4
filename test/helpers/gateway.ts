// A real gateway on loopback, on a fresh SQLite file, for in-process HTTP tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { parseConfigText } from '../../src/config.ts';
import { type Gateway, startGateway } from '../../src/gateway.ts';

export const API_TOKEN = 'test-api-token';
export const SECRETS = {
  stripe: 'whsec_test_stripe',
  github: 'gh-new-secret',
  githubOld: 'gh-old-secret',
  slack: 'slack-signing-secret',
  shopify: 'shpss_test',
  partner: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  custom: 'custom-secret',
};

export const SOURCES_YAML = `
api: { token: ${API_TOKEN} }
sources:
  stripe:  { provider: stripe, secret: ${SECRETS.stripe} }
  github:  { provider: github, secrets: [${SECRETS.github}, ${SECRETS.githubOld}] }
  slack:   { provider: slack, secret: ${SECRETS.slack} }
  shop:    { provider: shopify, secret: ${SECRETS.shopify} }
  partner: { provider: standard-webhooks, secret: ${SECRETS.partner} }
  custom:  { provider: hmac, secret: ${SECRETS.custom}, header: X-Signature, prefix: "sha256=", id_header: X-Event-Id, type_path: $.event }
`;

export interface TestGateway {
  gateway: Gateway;
  url: string;
  dir: string;
  dbPath: string;
  post(
    source: string,
    body: string | Uint8Array<ArrayBuffer>,
    headers: Record<string, string>,
  ): Promise<Response>;
  api(path: string, token?: string): Promise<Response>;
  close(): Promise<void>;
}

/** `server` adds keys to the server mapping, e.g. `body_limit: 64kb`; `extra` adds top-level
 * YAML such as destinations and routes. */
export async function startTestGateway(
  options: { server?: string; extra?: string; logger?: Logger } = {},
): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'hookyard-test-'));
  const dbPath = join(dir, 'hookyard.db');
  const server = ['port: 0', options.server].filter(Boolean).join(', ');
  const yaml = `storage: sqlite:${dbPath}\nserver: { ${server} }\n${SOURCES_YAML}\n${options.extra ?? ''}`;
  const gateway = await startGateway(parseConfigText(yaml, {}), {
    logger: options.logger ?? pino({ level: 'silent' }),
  });
  const url = gateway.url;
  return {
    gateway,
    url,
    dir,
    dbPath,
    post: (source, body, headers) =>
      fetch(`${url}/webhooks/${source}`, { method: 'POST', body, headers }),
    api: (path, token = API_TOKEN) =>
      fetch(`${url}/api${path}`, { headers: { authorization: `Bearer ${token}` } }),
    async close() {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
