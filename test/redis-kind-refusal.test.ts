import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startRedisServer, type RedisServerHandle, type RedisServerOptions } from '../src/lib/redis-server.js';
import { redisAtStart } from '../src/lib/redis-startup.js';
import { StartupFailure } from '../src/lib/run-process.js';
import { freePort } from './helpers/free-port.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-redis-kinds-'));
const servers: RedisServerHandle[] = [];

async function server(name: string, options: Pick<RedisServerOptions, 'args' | 'configFile'> = {}) {
  const handle = await startRedisServer({ port: await freePort(), dir: join(dir, name), persist: false, ...options });
  servers.push(handle);
  return handle;
}

let master: RedisServerHandle;
beforeAll(async () => {
  master = await server('master');
});
afterAll(async () => {
  for (const handle of servers.reverse()) await handle.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** What a process's start-up says of this Redis in standalone mode: nothing, or its one-line refusal. */
async function startAt(url: string): Promise<string | undefined> {
  const config = loadConfig({ REDIS_URL: url, REDIS_STARTUP_WAIT_MS: '5000', LOG_LEVEL: 'silent' });
  try {
    await redisAtStart(config, createLogger('silent'));
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(StartupFailure);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
}

describe('in standalone mode, start-up', () => {
  it('accepts a standalone master', async () => {
    expect(await startAt(master.url)).toBeUndefined();
  });

  it('refuses a Redis Cluster node, naming REDIS_MODE=cluster and REDIS_CLUSTER_NODES', async () => {
    // Its bus port defaults to port + 10000, past 65535 for a high free port: choose one.
    const node = await server('cluster-node', { args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(await freePort())] });
    expect(await startAt(node.url)).toMatch(/is a Redis Cluster node, not a standalone master: set REDIS_MODE=cluster and REDIS_CLUSTER_NODES/);
  });

  it('refuses a replica, naming its master and REDIS_URL', async () => {
    const replica = await server('replica', { args: ['--replicaof', '127.0.0.1', String(master.port)] });
    expect(await startAt(replica.url)).toMatch(new RegExp(`is a read-only replica of 127\\.0\\.0\\.1:${master.port}, not a standalone master: set REDIS_URL to its master`));
  });

  it('refuses a Sentinel, naming REDIS_MODE=sentinel, REDIS_SENTINELS and REDIS_SENTINEL_NAME', async () => {
    const configFile = join(dir, 'sentinel.conf');
    writeFileSync(configFile, `sentinel monitor switchboard-master 127.0.0.1 ${master.port} 1\n`);
    const sentinel = await server('sentinel', { configFile, args: ['--sentinel'] });
    expect(await startAt(sentinel.url)).toMatch(/is a Sentinel, not a standalone master: set REDIS_MODE=sentinel, REDIS_SENTINELS .* REDIS_SENTINEL_NAME/);
  });
});
