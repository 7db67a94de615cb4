// `hookyard`: the public surface only re-exports (see src/README.md), after the Node check.
// Each name is here because a user writes it or meets it in a signature they call; internal
// classes (stores, the engine) stay behind `createHookyard` and `startGateway`.
import './runtime.ts';
// Library mode: the embedded engine and its handlers.
export {
  type CreateOptions,
  createHookyard,
  type Handler,
  type HandlerEvent,
  type HandlerOptions,
  type Hookyard,
} from './library.ts';
// Gateway mode in-process: a config, loaded as the CLI loads it, served by `startGateway`.
export { type Config, ConfigError, loadConfig, parseConfigText } from './config.ts';
export { type Gateway, type GatewayOptions, startGateway } from './gateway.ts';
// Error codes, as in every error body and `error.code`.
export { ERROR_CODES, type ErrorCode } from './errors.ts';
// Types of what `Gateway.store`, `CreateOptions.store` and `Gateway.lifecycle` hand out.
export type { EventFilter, EventPage, EventSummary, Store, StoredEvent } from './store/contract.ts';
export type { LifecycleEvents } from './lifecycle.ts';
