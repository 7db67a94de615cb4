// GitHub: `X-Hub-Signature-256: sha256=<hex>` = HMAC-SHA256 of the raw body (JSON or the raw
// form bytes `payload=…`). The legacy SHA-1 `X-Hub-Signature` is accepted only when asked for.
// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
import { fromHex, toHex, utf8 } from './encoding.ts';
import { VerifierConfigError } from './errors.ts';
import { header, kindOf, refuse, secretList } from './kit.ts';
import type { Scheme, SignatureCheck, SignedHeaders, Signer } from './types.ts';

export interface GitHubOptions {
  secret: string | readonly string[];
  /** Also accept `X-Hub-Signature: sha1=…` when no SHA-256 header is present. Default false. */
  allowSha1?: boolean;
}

export function github(options: GitHubOptions): Scheme {
  const keys = secretList('github', options.secret).map(utf8);
  if (options.allowSha1 !== undefined && typeof options.allowSha1 !== 'boolean') {
    throw new VerifierConfigError(
      `github: allowSha1 must be a boolean, got ${kindOf(options.allowSha1)}`,
    );
  }
  const allowSha1 = options.allowSha1 === true;
  return {
    provider: 'github',
    tolerance: 0,
    plan(body, headers) {
      const h256 = header(headers, 'x-hub-signature-256');
      if (!h256.ok) return h256.plan;
      let check: SignatureCheck | undefined;
      if (h256.value !== undefined) {
        const sig = h256.value.startsWith('sha256=') ? fromHex(h256.value.slice(7)) : undefined;
        if (sig?.length !== 32) return refuse('X-Hub-Signature-256 is not sha256=<64 hex>');
        check = { kind: 'hmac', algorithm: 'sha256', keys, message: [body], signatures: [sig] };
      } else if (allowSha1) {
        const h1 = header(headers, 'x-hub-signature');
        if (!h1.ok) return h1.plan;
        if (h1.value === undefined) return refuse('missing X-Hub-Signature-256 header');
        const sig = h1.value.startsWith('sha1=') ? fromHex(h1.value.slice(5)) : undefined;
        if (sig?.length !== 20) return refuse('X-Hub-Signature is not sha1=<40 hex>');
        check = { kind: 'hmac', algorithm: 'sha1', keys, message: [body], signatures: [sig] };
      } else {
        return refuse('missing X-Hub-Signature-256 header');
      }
      return { ok: true, checks: [check] };
    },
  };
}

export interface GitHubSignInput {
  secret: string;
  body: Uint8Array | string;
}

/** `X-Hub-Signature-256` over the raw body (GitHub stopped recommending the SHA-1 one). */
export function sign(input: GitHubSignInput, signer: Signer): SignedHeaders {
  const body = typeof input.body === 'string' ? utf8(input.body) : input.body;
  return {
    'x-hub-signature-256': `sha256=${toHex(signer.hmac('sha256', utf8(input.secret), [body]))}`,
  };
}
