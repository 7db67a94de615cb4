// The providers' ingest modules, one per provider (verify/<provider>.ts verifies and signs; this
// side finds the event's id and type, and answers handshakes). Typed against the provider
// list: a provider added to the verifiers without a module here does not compile.
import type { SourceConfig } from '../../config.ts';
import type { Provider } from '../../verify/index.ts';
import * as discord from './discord.ts';
import * as github from './github.ts';
import * as hmac from './hmac.ts';
import type { Identified, IngestRequest } from './kit.ts';
import * as shopify from './shopify.ts';
import * as slack from './slack.ts';
import * as standardWebhooks from './standard-webhooks.ts';
import * as stripe from './stripe.ts';
import * as zoom from './zoom.ts';

export interface IngestProvider {
  /** The event's id and type, or a handshake to answer instead of storing. */
  identify(req: IngestRequest, source: SourceConfig): Identified;
}

export const INGEST_PROVIDERS: Record<Provider, IngestProvider> = {
  stripe,
  github,
  slack,
  'standard-webhooks': standardWebhooks,
  shopify,
  discord,
  zoom,
  hmac,
};
