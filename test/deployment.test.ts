import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { aCall } from './helpers/harness.js';
import { until } from './helpers/callbacks.js';
import { envOf, execForm, healthcheckCommand, interpolate, parseDockerfile, type Instruction } from './helpers/dockerfile.js';
import { freePort } from './helpers/free-port.js';
import { spawnCommand, type SpawnedCommand } from './helpers/spawn-command.js';

const run = promisify(execFile);
const dockerfileText = readFileSync('Dockerfile', 'utf8');
const dockerfile = parseDockerfile(dockerfileText);
const finalStage = Math.max(...dockerfile.map((instruction) => instruction.stage));
const final = dockerfile.filter((instruction) => instruction.stage === finalStage);
const one = (instructions: Instruction[], keyword: string) => instructions.filter((instruction) => instruction.keyword === keyword);

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { disable?: boolean; test?: string[] };
}
const compose = parseYaml(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };

// No Docker engine and no hadolint here (neither Debian nor npm carries it): the Dockerfile is
// checked by dockerfile-utils' linter and by the rules below, hadolint's that matter to this image.
describe('the Dockerfile', () => {
  it('passes the Dockerfile linter and follows the image rules', () => {
    expect(validate(dockerfileText)).toEqual([]);
    for (const { args } of one(dockerfile, 'FROM')) expect(args).toMatch(/^\S+:(?!latest\b)\S+/); // DL3006, DL3007
    expect(one(dockerfile, 'ADD')).toEqual([]); // DL3020
    for (const { args } of one(dockerfile, 'WORKDIR')) expect(args).toMatch(/^\//); // DL3000
    for (const { args } of one(dockerfile, 'RUN')) expect(args).not.toMatch(/\bnpm (install|i)\b/); // npm ci installs the lock file
    expect(one(final, 'USER').at(-1)?.args).toMatch(/^(?!root\b|0\b)\S+/); // DL3002
    expect(execForm(one(final, 'CMD').at(-1)!.args)).toBeDefined(); // DL3025
    expect(healthcheckCommand(one(final, 'HEALTHCHECK').at(-1)!.args)).toBeDefined();
    expect(envOf(final)).toMatchObject({ NODE_ENV: 'production' });
  });

  it('ships no TypeScript, tsx or esbuild: the runtime installs production dependencies only', () => {
    const copiedModules = one(final, 'COPY').find(({ args }) => /node_modules/.test(args))!.args;
    const fromStage = /--from=(\S+)/.exec(copiedModules)![1];
    const stageIndex = dockerfile.find(({ keyword, args }) => keyword === 'FROM' && new RegExp(`\\bAS ${fromStage}$`, 'i').test(args))!.stage;
    const install = one(dockerfile.filter(({ stage }) => stage === stageIndex), 'RUN').map(({ args }) => args).join(' && ');
    expect(install).toMatch(/npm ci\b[^&]*--omit=dev/);
    // What `npm ci --omit=dev` installs, by the lock file, less what the stage removes.
    const removed = [...install.matchAll(/rm -rf ((?:node_modules\/\S+\s*)+)/g)].flatMap((match) => match[1]!.trim().split(/\s+/));
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const installed = Object.entries(lock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev)
      .map(([path]) => path)
      .filter((path) => !removed.some((gone) => path === gone || path.startsWith(`${gone}/`)));
    expect(installed.filter((path) => /(^|\/)(typescript|tsx|esbuild|@esbuild\/[^/]+)$/.test(path))).toEqual([]);
  });

  it('has a .dockerignore that keeps secrets, local state and bulky folders out of the build', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['.env', '.git', '.data', 'node_modules', 'dist']));
  });
});

describe('docker-compose.yml', () => {
  it('leaves PUBLIC_URL empty by default, so call outcomes are polled rather than lost', () => {
    expect(interpolate(compose.services.api!.environment!.PUBLIC_URL!, {})).toBe('');
    expect(interpolate(compose.services.worker!.environment!.PUBLIC_URL!, { PUBLIC_URL: 'https://switchboard.example.com' })).toBe('https://switchboard.example.com');
  });

  it('keeps the image health check for the worker', () => {
    expect(compose.services.worker!.healthcheck?.disable).not.toBe(true);
  });
});

/** The image's layout, /app: dist built by `npm run build`, the files the final stage copies, node_modules. */
async function buildImageLayout(): Promise<string> {
  const app = mkdtempSync(join(tmpdir(), 'switchboard-image-'));
  await run('npm', ['run', 'build', '--', '--outDir', join(app, 'dist')], { timeout: 170_000 });
  for (const { args } of one(final, 'COPY').filter(({ args }) => !args.startsWith('--from'))) {
    for (const source of args.split(/\s+/).slice(0, -1)) cpSync(source, join(app, source), { recursive: true });
  }
  symlinkSync(resolve('node_modules'), join(app, 'node_modules'), 'dir');
  return app;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe("the image's commands, run from dist as the Dockerfile and docker-compose.yml write them", () => {
  let app: string;
  const started: SpawnedCommand[] = [];
  beforeAll(async () => {
    app = await buildImageLayout();
  }, 180_000);
  afterAll(() => {
    for (const command of started) command.killGroup();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('need nothing but production dependencies at run time', () => {
    const allowed = new Set([...Object.keys(packageJson.dependencies), ...builtinModules]);
    const imported = new Set<string>();
    for (const file of filesUnder(join(app, 'dist'))) {
      const text = readFileSync(file, 'utf8');
      for (const [, specifier] of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
        if (specifier!.startsWith('.') || specifier!.startsWith('node:')) continue;
        imported.add(specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!);
      }
    }
    // Test and bench code is not in the image's dist; the build includes src, workers and bin only.
    expect([...imported].filter((name) => !allowed.has(name))).toEqual([]);
    expect(imported.has('fastify')).toBe(true);
    // `npm start` runs TypeScript through tsx, a development tool the image must not need.
    expect(Object.keys(packageJson.dependencies).filter((name) => ['tsx', 'typescript', 'esbuild'].includes(name))).toEqual([]);
  });

  it('the API answers /health, the worker comes up, and the health check command passes for each', async () => {
    const [apiPort, workerPort, unused] = await Promise.all([freePort(), freePort(), freePort()]);
    const keys = { API_KEYS: 'deploy-test-key', ADMIN_API_KEYS: 'deploy-test-admin' };
    // Compose's service names, as this machine reaches what stands in for them.
    const network = (value: string) =>
      value.replace('redis://redis:6379', inject('redisUrl')).replace('http://api:3000', `http://127.0.0.1:${apiPort}`);
    const containerEnv = (service: ComposeService, own: Record<string, string>) => ({
      ...envOf(final),
      ...Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, network(interpolate(String(value), keys))])),
      QUEUE_PREFIX: `test-${randomUUID().slice(0, 8)}`,
      LOG_LEVEL: 'info',
      // Simulated calls played a hundred times faster, so one ends within the test, whatever the hour.
      SIMULATED_TIME_SCALE: '0.01',
      CALLING_WINDOW: 'Mon-Sun 00:00-24:00',
      ...own,
    });
    // Each container has its own ports: in the API's nothing serves WORKER_METRICS_PORT, in a worker's nothing serves PORT.
    const apiEnv = containerEnv(compose.services.api!, { PORT: String(apiPort), WORKER_METRICS_PORT: String(unused) });
    const workerEnv = { ...containerEnv(compose.services.worker!, { PORT: String(unused), WORKER_METRICS_PORT: String(workerPort) }), QUEUE_PREFIX: apiEnv.QUEUE_PREFIX };
    expect(apiEnv).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0', PUBLIC_URL: '' });

    const [apiCommand, ...apiArgs] = compose.services.api!.command ?? execForm(one(final, 'CMD').at(-1)!.args)!;
    const [workerCommand, ...workerArgs] = compose.services.worker!.command!;
    const api = spawnCommand(apiCommand!, apiArgs, apiEnv, app);
    const worker = spawnCommand(workerCommand!, workerArgs, workerEnv, app);
    started.push(api, worker);
    await api.waitForLog(/Server listening/);
    await worker.waitForLog(/call worker started/);

    const health = await fetch(`http://127.0.0.1:${apiPort}/health`);
    expect(health.status).toBe(200);
    // The console's page and files ship in the image.
    for (const path of ['/console/login', '/console/assets/console.js', '/console/assets/uPlot.iife.min.js']) expect((await fetch(`http://127.0.0.1:${apiPort}${path}`)).status, path).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', redis: 'up' });
    expect(await (await fetch(`http://127.0.0.1:${workerPort}/health`)).json()).toMatchObject({ status: 'ok', redis: 'up', worker: 'running' });

    const [probe, ...probeArgs] = healthcheckCommand(one(final, 'HEALTHCHECK').at(-1)!.args)!;
    for (const env of [apiEnv, workerEnv]) {
      const result = await run(probe!, probeArgs, { cwd: app, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 });
      expect(result.stdout).toMatch(/healthy/);
    }

    // A call goes all the way: the worker dials it with the simulated carrier, whose status callbacks reach the API.
    const headers = { authorization: `Bearer ${keys.API_KEYS}`, 'content-type': 'application/json' };
    const scheduled = await fetch(`http://127.0.0.1:${apiPort}/api/queue/schedule-call`, { method: 'POST', headers, body: JSON.stringify(aCall()) });
    expect(scheduled.status).toBe(201);
    const { jobId } = (await scheduled.json()) as { jobId: string };
    const job = await until(
      async () => (await (await fetch(`http://127.0.0.1:${apiPort}/api/queue/job/${jobId}`, { headers })).json()) as Record<string, unknown>,
      (body) => (body.call as { final?: boolean } | undefined)?.final === true,
      20_000,
    );
    expect(job).toMatchObject({ state: 'completed', call: { final: true, timeline: expect.arrayContaining([expect.objectContaining({ status: 'ringing' })]) } });

    for (const command of [api, worker]) process.kill(command.pid, 'SIGTERM');
    expect(await api.exited).toBe(0);
    expect(await worker.exited).toBe(0);
  }, 60_000);
});
