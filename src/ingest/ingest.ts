// request → source → verify → identify → group commit → reply. No HTTP framework in here:
// adapters hand over headers and the raw body, and send back the Reply.
import type { Logger } from 'pino';
import type { Config, SourceConfig } from '../config.ts';
import { type Router, valueAtPath } from '../delivery/router.ts';
import { type ErrorCode, errorReply, jsonReply, type Reply } from '../errors.ts';
import type { Lifecycle } from '../events.ts';
import { newId } from '../ids.ts';
import type { GroupCommit } from '../store/group-commit.ts';
import { createVerifier, type Verifier } from '../verify/index.ts';
import { type IngestRequest, identify, isSlackSslCheck } from './identify.ts';
import { parsePayload } from './payload.ts';
import type { RejectionLog } from './rejections.ts';

export interface IngestContext {
  remoteAddress: string | null;
  /** Headers as received (original case, in order), stored with the event. */
  rawHeaders: [string, string][];
}

export interface Ingest {
  hasSource(name: string): boolean;
  handle(source: string, request: IngestRequest, context: IngestContext): Promise<Reply>;
  /** Records a refusal made before `handle` (by the HTTP adapter) and builds its reply. */
  refuse(
    source: string,
    code: ErrorCode,
    message: string,
    context: Partial<IngestContext> & { size?: number },
  ): Reply;
}

export interface IngestDeps {
  config: Config;
  commits: GroupCommit;
  rejections: RejectionLog;
  logger: Logger;
  lifecycle: Lifecycle;
  router: Router;
  /** Unix ms; tests pin it. */
  now?: () => number;
}

const RETRY_AFTER_S = '5';
/** A failing store is logged with its error at most this often; failures between are counted. */
const STORE_ERROR_LOG_EVERY_MS = 5000;

export function createIngest(deps: IngestDeps): Ingest {
  const now = deps.now ?? Date.now;
  const router = deps.router;
  let storeErrorLoggedAt = Number.NEGATIVE_INFINITY;
  let storeErrorsSince = 0;
  const sources = new Map<string, { config: SourceConfig; verifier: Verifier }>();
  for (const [name, config] of deps.config.sources) {
    sources.set(name, { config, verifier: createVerifier(config.verifier) });
  }

  function refuse(
    source: string,
    code: ErrorCode,
    message: string,
    context: Partial<IngestContext> & { size?: number },
    headers: Record<string, string> = {},
  ): Reply {
    const reply = errorReply(code, message, headers);
    deps.rejections.add({
      at: now(),
      source,
      code,
      status: reply.status,
      message,
      remoteAddress: context.remoteAddress ?? null,
      size: context.size ?? null,
    });
    deps.logger.info({ source, code, remoteAddress: context.remoteAddress }, `refused: ${message}`);
    return reply;
  }

  async function handle(name: string, req: IngestRequest, context: IngestContext): Promise<Reply> {
    const size = req.body.length;
    const source = sources.get(name);
    if (!source)
      return refuse(name, 'source_not_found', `no source named ${name}`, { ...context, size });
    if (isSlackSslCheck(source.config, req)) return { status: 200, headers: {}, body: '' };

    const receivedAt = now();
    const verified = source.verifier.verify({
      body: req.body,
      headers: req.headers,
      now: receivedAt,
    });
    if (!verified.ok) {
      return refuse(name, verified.error.code, verified.error.message, { ...context, size });
    }

    const found = identify(source.config, req);
    if (found.kind === 'invalid')
      return refuse(name, 'payload_invalid', found.message, { ...context, size });
    if (found.kind === 'handshake') {
      return {
        status: found.status,
        headers: { 'content-type': found.contentType },
        body: found.body,
      };
    }

    // Parsed at most once, and only if a route filter or an ordering key needs it.
    let payload: { value: unknown } | undefined;
    const getPayload = () => {
      if (!payload) {
        const parsed = parsePayload(req.body, req.contentType);
        payload = { value: parsed.ok ? parsed.value : undefined };
      }
      return payload.value;
    };
    const destinations = router
      .route({ source: name, type: found.type, payload: getPayload })
      .map((d) => {
        const keyPath = deps.config.destinations.get(d)?.orderingKey;
        const key = keyPath === undefined ? undefined : valueAtPath(getPayload(), keyPath);
        const orderingKey = typeof key === 'string' || typeof key === 'number' ? String(key) : null;
        return { destination: d, orderingKey };
      });
    try {
      const outcome = await deps.commits.submit({
        id: newId('hye', receivedAt),
        source: name,
        eventId: found.eventId,
        type: found.type,
        receivedAt,
        headers: context.rawHeaders,
        contentType: req.contentType,
        body: req.body,
        destinations,
      });
      const status = outcome.duplicate ? 'duplicate' : 'received';
      if (!outcome.duplicate) {
        deps.lifecycle.emit('event:received', {
          id: outcome.id,
          source: name,
          type: found.type,
          destinations: destinations.map((d) => d.destination),
        });
      }
      deps.logger.debug({ source: name, id: outcome.id, eventId: found.eventId, status }, 'event');
      return jsonReply(200, { id: outcome.id, status });
    } catch (error) {
      // During an outage every request fails alike: one line with the error, then one every
      // 5 s that counts the failures in between (each is still a refusal, logged and kept).
      const at = now();
      if (at - storeErrorLoggedAt >= STORE_ERROR_LOG_EVERY_MS) {
        deps.logger.error(
          { err: error, source: name, failedSinceLastLine: storeErrorsSince },
          'store failed; answering 503',
        );
        storeErrorLoggedAt = at;
        storeErrorsSince = 0;
      } else storeErrorsSince++;
      return refuse(
        name,
        'storage_unavailable',
        'the event could not be stored; retry later',
        { ...context, size },
        { 'retry-after': RETRY_AFTER_S },
      );
    }
  }

  return {
    hasSource: (name) => sources.has(name),
    handle,
    refuse: (source, code, message, context) => refuse(source, code, message, context),
  };
}
