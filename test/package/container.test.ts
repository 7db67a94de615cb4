// The Dockerfile and compose.yaml, checked without a container engine (none can pull images
// here): their commands are real `hookyard serve` flags, their variables are real config, the
// services agree with each other, and the image's entrypoint, command, environment and
// HEALTHCHECK, run outside a container on loopback, serve and report readiness.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseServeArgs } from '../../src/cli/cli.ts';
import { ENVIRONMENT, loadConfigLayers } from '../../src/config.ts';
import { ROOT, startServerProcess } from '../helpers/process.ts';

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions per stage, continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (pending === '' && line === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const [, keyword = '', args = ''] = /^(\S+)\s*([\s\S]*)$/.exec(pending + line) ?? [];
    pending = '';
    if (keyword.toUpperCase() === 'FROM') stages.push([]);
    stages.at(-1)?.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const runtime = stages.at(-1) ?? [];
const all = (stage: Instruction[], keyword: string) =>
  stage.filter((i) => i.keyword === keyword).map((i) => i.args);
const last = (keyword: string) => all(runtime, keyword).at(-1);
/** An exec-form instruction (`["a", "b"]`), as the array Docker runs. */
const execForm = (args: string | undefined): string[] => {
  assert.ok(args !== undefined && args.startsWith('['), `not in exec form: ${args}`);
  return JSON.parse(args) as string[];
};
const imageEnv: Record<string, string> = Object.fromEntries(
  all(runtime, 'ENV').flatMap((args) =>
    args.split(/\s+/).map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string]),
  ),
);
const entrypoint = execForm(last('ENTRYPOINT'));
const command = execForm(last('CMD'));
const healthcheck = execForm(/CMD\s+(\[.*\])$/s.exec(last('HEALTHCHECK') ?? '')?.[1]);

const compose = parseYaml(
  // Compose's own `${VAR:-default}`, with nothing set in the shell.
  readFileSync(join(ROOT, 'compose.yaml'), 'utf8').replace(/\$\{\w+:-([^}]*)\}/g, '$1'),
) as {
  services: Record<string, Record<string, unknown>>;
};
const { postgres, hookyard } = compose.services as Record<string, any>;

// Children get this Node first on PATH, and none of the npm_* variables of an enclosing `npm
// test` (they would steer the npm that runs the build stage's steps).
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
);
env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

/** What a `.dockerignore` line leaves out of the context, for a top-level name. */
function ignored(name: string): boolean {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return patterns.some((pattern) => {
    const glob = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
    return new RegExp(`^${glob}$`).test(name);
  });
}

describe('Dockerfile', () => {
  test('node:24-slim throughout; the runtime is unprivileged with /data as its volume', () => {
    assert.ok(stages.length >= 2, 'a multi-stage build');
    for (const stage of stages) assert.match(stage[0]?.args ?? '', /^node:24-slim(\s|$)/);
    const user = last('USER');
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `runs as ${user}`);
    assert.deepEqual(execForm(last('VOLUME')), ['/data']);
    assert.ok(
      all(runtime, 'RUN').some((r) => r.includes(`chown ${user}`) && r.includes('/data')),
      `/data is writable by ${user}`,
    );
    assert.equal(last('EXPOSE'), '8787');
  });

  test('the runtime has production dependencies only, from the lockfile', () => {
    const stage = (name: string) =>
      stages.find((s) => new RegExp(`\\sAS\\s+${name}$`, 'i').test(s[0]?.args ?? '')) ?? [];
    const copies = all(runtime, 'COPY').map((copy) => /^--from=(\S+)\s+(\S+)/.exec(copy));
    const modules = copies.find((c) => c?.[2] === '/app/node_modules');
    assert.ok(modules?.[1], 'the runtime copies node_modules from a stage');
    assert.match(all(stage(modules[1]), 'RUN').join('\n'), /\bnpm ci\b.*--omit=dev/);
    assert.deepEqual(all(stage(modules[1]), 'COPY'), ['package.json package-lock.json ./']);
  });

  test('its build stage builds from the context that .dockerignore leaves', () => {
    for (const name of ['node_modules', 'dist', '.git', '.env', '.env.local', 'hookyard.yaml']) {
      assert.ok(ignored(name), `.dockerignore lets ${name} into the context`);
    }
    // The build stage's steps after `COPY . .`, on a copy of the context, with this checkout's
    // node_modules standing in for its `npm ci`.
    const build = stages.find((s) => /\sAS\s+build$/i.test(s[0]?.args ?? '')) ?? [];
    const copyAll = build.findIndex((i) => i.keyword === 'COPY' && i.args === '. .');
    assert.ok(copyAll > 0, 'the build stage copies the context');
    const context = mkdtempSync(join(tmpdir(), 'hookyard-context-'));
    try {
      for (const name of readdirSync(ROOT)) {
        if (!ignored(name)) cpSync(join(ROOT, name), join(context, name), { recursive: true });
      }
      symlinkSync(join(ROOT, 'node_modules'), join(context, 'node_modules'));
      for (const step of build.slice(copyAll + 1).filter((i) => i.keyword === 'RUN')) {
        const run = spawnSync('sh', ['-c', step.args], { cwd: context, env, encoding: 'utf8' });
        assert.equal(run.status, 0, `RUN ${step.args}:\n${run.stdout}\n${run.stderr}`);
      }
      // What the runtime takes from the build stage is there.
      for (const copy of all(runtime, 'COPY').filter((c) => c.startsWith('--from=build '))) {
        for (const source of copy.split(/\s+/).slice(1, -1)) {
          assert.ok(existsSync(join(context, source.replace(/^\/app\//, ''))), `${source}`);
        }
      }
      assert.ok(existsSync(join(context, 'dist/cli/main.js')));
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  });

  test('its command is real `hookyard serve` flags and its environment is real config', () => {
    assert.equal(entrypoint.at(-1), '/app/bin/hookyard.js');
    assert.equal(command[0], 'serve');
    const args = parseServeArgs(command.slice(1));
    assert.equal(args.overrides.host, '0.0.0.0');
    for (const name of Object.keys(imageEnv).filter((n) => n.startsWith('HOOKYARD_'))) {
      assert.ok(name in ENVIRONMENT, `${name} is not a variable the config reads`);
    }
    // With a config file that says otherwise (the example), the image's environment and
    // command still decide where the data lives and where it listens.
    const config = loadConfigLayers({
      file: join(ROOT, 'hookyard.example.yaml'),
      env: imageEnv,
      flags: args.overrides,
    });
    assert.equal(config.storage, 'sqlite:/data/hookyard.db');
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(String(config.server.port), last('EXPOSE'));
  });

  describe('run as the image runs it, outside a container, on loopback', () => {
    const data = mkdtempSync(join(tmpdir(), 'hookyard-image-'));
    after(() => rmSync(data, { recursive: true, force: true }));
    /** The image's paths on this machine: the app is the repo, /data a temporary folder, and
     * the config the example that compose.yaml mounts. Loopback instead of 0.0.0.0. */
    const local = (arg: string) =>
      arg === '0.0.0.0'
        ? '127.0.0.1'
        : arg
            .replace(/^\/app\//, ROOT)
            .replace('/etc/hookyard/hookyard.yaml', join(ROOT, 'hookyard.example.yaml'))
            .replace(/(^|:)\/data\//, `$1${data}/`);
    /** The HEALTHCHECK command's exit code. Not spawnSync: the 503 server below lives in
     * this process and must be free to answer. */
    const check = async (port: number) => {
      const child = spawn(
        healthcheck[0] === 'node' ? process.execPath : healthcheck[0]!,
        healthcheck.slice(1),
        { env: { ...process.env, HOOKYARD_PORT: String(port) }, stdio: 'ignore' },
      );
      const [code] = await once(child, 'exit');
      return code as number;
    };

    test('it serves with the image environment and its HEALTHCHECK passes, then fails', async () => {
      assert.equal(entrypoint[0], 'node');
      const env = Object.fromEntries(
        Object.entries(imageEnv).map(([k, v]) => [k, local(v)] as const),
      );
      const server = await startServerProcess(command.map(local), {
        entry: local(entrypoint[1]!),
        env: { ...env, HOOKYARD_PORT: '0' },
        cwd: data,
      });
      const port = Number(new URL(server.url).port);
      try {
        assert.equal(await check(port), 0, server.output());
        assert.ok(existsSync(join(data, 'hookyard.db')), 'the SQLite file is in /data');
      } finally {
        assert.equal(await server.stop(), 0);
      }
      assert.equal(await check(port), 1, 'nothing listens');
    });

    test('the HEALTHCHECK fails on a 503 from /readyz', async () => {
      const asked: string[] = [];
      const server = createServer((req, res) => {
        asked.push(req.url ?? '');
        res.statusCode = req.url === '/readyz' ? 503 : 200;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        assert.equal(await check((server.address() as AddressInfo).port), 1);
        assert.deepEqual(asked, ['/readyz']);
      } finally {
        server.close();
      }
    });
  });
});

describe('compose.yaml', () => {
  test('PostgreSQL 17, healthy before Hookyard starts', () => {
    assert.match(postgres.image, /^postgres:17(\.|-|$)/);
    assert.ok(postgres.healthcheck.test.includes('pg_isready'));
    assert.deepEqual(hookyard.depends_on, { postgres: { condition: 'service_healthy' } });
    assert.equal(hookyard.build, '.');
  });

  test("Hookyard's variables are real config, and its storage is the postgres service", () => {
    const [mount] = (hookyard.volumes as string[]).filter((v) => v.includes(':/etc/hookyard/'));
    const file = join(ROOT, mount!.split(':')[0]!);
    const text = readFileSync(file, 'utf8');
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(hookyard.environment as Record<string, unknown>)) {
      assert.ok(
        name in ENVIRONMENT || text.includes(`\${${name}`),
        `${name} is neither a HOOKYARD_* variable nor used by ${mount}`,
      );
      if (value !== null) env[name] = String(value);
    }
    const args = parseServeArgs(((hookyard.command as string[] | undefined) ?? command).slice(1));
    const config = loadConfigLayers({ file, env, flags: args.overrides });
    const pg = postgres.environment as Record<string, string>;
    assert.equal(
      config.storage,
      `postgres://${pg.POSTGRES_USER}:${pg.POSTGRES_PASSWORD}@postgres:5432/${pg.POSTGRES_DB}`,
    );
    assert.equal(config.server.host, '0.0.0.0');
    // Published on the host's loopback only: the example's secrets are development values.
    assert.deepEqual(hookyard.ports, [`127.0.0.1:${config.server.port}:${last('EXPOSE')}`]);
  });
});
