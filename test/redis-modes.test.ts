import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { connectRedis, createRedis, type RedisConnection } from '../src/lib/redis.js';
import { startRedisServer, type RedisServerHandle, type RedisServerOptions } from '../src/lib/redis-server.js';
import { freePort } from './helpers/free-port.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-redis-modes-'));
const servers: RedisServerHandle[] = [];
const connections: RedisConnection[] = [];

async function server(name: string, options: Pick<RedisServerOptions, 'args' | 'configFile'> = {}) {
  const handle = await startRedisServer({ port: await freePort(), dir: join(dir, name), persist: false, ...options });
  servers.push(handle);
  return handle;
}

afterEach(async () => {
  for (const connection of connections.splice(0)) await connection.quit().catch(() => connection.disconnect());
});
afterAll(async () => {
  for (const handle of servers.reverse()) await handle.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Until `check` holds, for servers that settle on their own clock (cluster state, Sentinel discovery). */
async function until(check: () => Promise<boolean>, what: string) {
  for (let waited = 0; waited < 10_000; waited += 50) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`${what} within 10 s`);
}

describe('connections in each REDIS_MODE', () => {
  it('cluster: a Cluster client reaches the slot owner and BullMQ queues under the hash-tagged prefix', async () => {
    // A node alone knows no address of its own until told one; its bus port stays below 65536.
    const node = await server('cluster', {
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(await freePort()), '--cluster-announce-ip', '127.0.0.1'],
    });
    const admin = new Redis(node.url);
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    await until(async () => /cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO'))), 'the cluster is ok');
    admin.disconnect();

    const config = loadConfig({ REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: `127.0.0.1:${node.port}`, QUEUE_PREFIX: '{modes}', LOG_LEVEL: 'silent' });
    const producer = await connectRedis(createRedis(config.redis, 'producer', 'modes-test'));
    connections.push(producer);
    expect(producer).toBeInstanceOf(Cluster);
    expect(producer.options.keyPrefix ?? '').toBe('');
    await producer.set(`${config.QUEUE_PREFIX}:probe`, 'ok');
    expect(await producer.get(`${config.QUEUE_PREFIX}:probe`)).toBe('ok');

    const queue = new Queue('calls', { connection: producer, prefix: config.QUEUE_PREFIX });
    const job = await queue.add('call', { to: '+14155550100' });
    expect(await queue.getJobState(job.id!)).toBe('waiting');
    await queue.close();
  });

  it('sentinel: the client asks the Sentinels for the master and writes there', async () => {
    const master = await server('sentinel-master');
    const configFile = join(dir, 'sentinel.conf');
    writeFileSync(configFile, `sentinel monitor modes-master 127.0.0.1 ${master.port} 1\n`);
    const sentinel = await server('sentinel', { configFile, args: ['--sentinel'] });

    const config = loadConfig({ REDIS_MODE: 'sentinel', REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_SENTINEL_NAME: 'modes-master', LOG_LEVEL: 'silent' });
    const consumer = await connectRedis(createRedis(config.redis, 'consumer', 'modes-test'));
    connections.push(consumer);
    expect(consumer).toBeInstanceOf(Redis);
    expect((consumer as Redis).options).toMatchObject({ maxRetriesPerRequest: null, name: 'modes-master' });
    expect((consumer as Redis).options.keyPrefix ?? '').toBe('');
    await consumer.set('switchboard:probe', 'ok');
    const direct = new Redis(master.url);
    expect(await direct.get('switchboard:probe')).toBe('ok');
    direct.disconnect();
  });
});
