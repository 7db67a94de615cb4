// In-process CLI runs (`run(argv, io)` with captured streams) and a gateway with a source for
// every provider, named after it, so `hookyard send --provider p` finds `/webhooks/p`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { run } from '../../src/cli/cli.ts';
import { parseConfigText } from '../../src/config.ts';
import { type Gateway, startGateway } from '../../src/gateway.ts';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
  stdin?: string,
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (c: string) => (stdout += c) },
    stderr: { write: (c: string) => (stderr += c) },
    env,
    ...(stdin !== undefined && {
      stdin: (async function* () {
        yield Buffer.from(stdin);
      })(),
    }),
  });
  return { code, stdout, stderr };
}

export const API_TOKEN = 'cli-test-token';

/** Ed25519 seed (Discord private key) and the public key derived from it with node:crypto. */
export const DISCORD_PRIVATE = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
export const DISCORD_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

export const SECRETS = {
  stripe: 'whsec_cli_stripe',
  github: 'cli-github-secret',
  slack: 'cli-slack-secret',
  shopify: 'shpss_cli',
  'standard-webhooks': 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  discord: DISCORD_PRIVATE,
  zoom: 'cli-zoom-secret-token',
  hmac: 'cli-hmac-secret',
} as const;

export const PROVIDER_SOURCES = `
api: { token: ${API_TOKEN} }
sources:
  stripe: { provider: stripe, secret: ${SECRETS.stripe} }
  github: { provider: github, secret: ${SECRETS.github} }
  slack: { provider: slack, secret: ${SECRETS.slack} }
  shopify: { provider: shopify, secret: ${SECRETS.shopify} }
  standard-webhooks: { provider: standard-webhooks, secret: ${SECRETS['standard-webhooks']} }
  discord: { provider: discord, public_key: ${DISCORD_PUBLIC} }
  zoom: { provider: zoom, secret: ${SECRETS.zoom} }
  hmac: { provider: hmac, secret: ${SECRETS.hmac}, header: X-Signature, prefix: "sha256=", id_header: X-Event-Id, type_path: $.event }
`;

export interface ProviderGateway {
  gateway: Gateway;
  url: string;
  close(): Promise<void>;
}

/** `extra`: top-level YAML, e.g. destinations and routes. */
export async function startProviderGateway(extra = ''): Promise<ProviderGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'hookyard-cli-'));
  const yaml = `storage: sqlite:${join(dir, 'h.db')}\nserver: { port: 0 }\n${PROVIDER_SOURCES}\n${extra}`;
  const gateway = await startGateway(parseConfigText(yaml, {}), {
    logger: pino({ level: 'silent' }),
  });
  return {
    gateway,
    url: gateway.url,
    async close() {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
