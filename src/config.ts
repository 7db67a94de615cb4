// The one place Hookyard's options are declared, documented and given defaults: the schema
// (config/schema.ts) is both the validation and the `Config` type; config/env.ts is the
// environment's part (`${VAR}`, HOOKYARD_*, --env-file); config/load.ts reads and layers.
// `hookyard.yaml` → env expansion → environment and flag overrides → validation → `Config`.
export { ConfigError } from './errors.ts';
export {
  type Condition,
  type Config,
  type ConfigInput,
  configSchema,
  DELIVERY_DEFAULTS,
  type DestinationConfig,
  LOG_LEVELS,
  type LogLevel,
  OPERATORS,
  type RouteConfig,
  type SourceConfig,
} from './config/schema.ts';
export {
  ENVIRONMENT,
  environmentOverrides,
  expandEnv,
  type Overrides,
  parsePort,
  withEnvFile,
} from './config/env.ts';
export {
  configFileFor,
  DEFAULT_CONFIG_FILE,
  loadConfig,
  loadConfigLayers,
  parseConfigText,
  resolveConfig,
} from './config/load.ts';
