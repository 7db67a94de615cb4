// `hookyard migrate`: bring the storage's schema up to date, then exit.
import {
  DEFAULT_CONFIG_FILE,
  environmentOverrides,
  loadConfigLayers,
  type Overrides,
} from '../../config.ts';
import { StoreUnavailableError } from '../../store/contract.ts';
import { openStore } from '../../store/open.ts';
import { defineCommand, jsonArg } from '../io.ts';
import { CONFIG_ARG, ENV_FILE_ARG, environment } from './serve.ts';

export const migrateCommand = defineCommand({
  meta: { name: 'migrate', description: 'bring the storage’s schema up to date, then exit' },
  args: {
    config: CONFIG_ARG,
    storage: {
      type: 'string',
      valueHint: 'url',
      description: 'sqlite:<path> or postgres://… (overrides storage)',
    },
    'env-file': ENV_FILE_ARG,
    ...jsonArg,
  },
  notes: `serve migrates too; run migrate on its own to upgrade a shared database before rolling out
new gateway processes. Several processes migrating at once apply each migration once.
`,
  async run({ args, io }) {
    const env = environment(io.env, args['env-file']);
    const flags: Overrides = args.storage === undefined ? {} : { storage: args.storage };
    // With a storage given and no config file named, nothing else of the config matters here:
    // hookyard.yaml is not read (its ${VAR}s need not be set where migrations run).
    const storage = flags.storage ?? environmentOverrides(env).storage;
    const named = args.config ?? (env.HOOKYARD_CONFIG || undefined);
    const file = named ?? (storage === undefined ? DEFAULT_CONFIG_FILE : null);
    const config = loadConfigLayers({ file, env, flags });
    const store = openStore(config.storage, {
      pool: 1,
      connectTimeoutMs: config.postgres.connectTimeoutMs,
    });
    try {
      const report = await store.migrate();
      if (args.json) io.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        for (const m of report.applied) io.stdout.write(`applied ${m.version} ${m.name}\n`);
        io.stdout.write(
          report.applied.length
            ? `schema at version ${report.version}\n`
            : `schema up to date at version ${report.version}\n`,
        );
      }
      return 0;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      io.stderr.write(`hookyard: ${error.message}\n`);
      return 1;
    } finally {
      await store.close();
    }
  },
});
