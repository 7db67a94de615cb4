// `hookyard`: the public surface only re-exports (see src/README.md), after the Node check.
import './runtime.ts';
export { type Config, ConfigError, loadConfig, parseConfigText } from './config.ts';
export { ERROR_CODES, type ErrorCode } from './errors.ts';
export { type Gateway, type GatewayOptions, startGateway } from './gateway.ts';
export type { EventFilter, EventPage, EventSummary, Store, StoredEvent } from './store/contract.ts';
export { SqliteStore } from './store/sqlite/store.ts';
export {
  type CreateOptions,
  createHookyard,
  type Handler,
  type HandlerEvent,
  type HandlerOptions,
  type Hookyard,
} from './library.ts';
export type { LifecycleEvents } from './events.ts';
