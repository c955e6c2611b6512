import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Redis, ReplyError } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../src/api-runtime.js';
import { loadConfig } from '../src/config.js';
import { errorHandlerPlugin } from '../src/plugins/error-handler.js';
import { startRedisServer, type RedisServerHandle } from '../src/lib/redis-server.js';
import { freePort } from './helpers/free-port.js';
import { testEnv } from './helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-failover-answers-'));
let master: RedisServerHandle;
let replica: RedisServerHandle;

beforeAll(async () => {
  master = await startRedisServer({ port: await freePort(), dir: join(dir, 'master'), persist: false });
  replica = await startRedisServer({ port: await freePort(), dir: join(dir, 'replica'), persist: false, args: ['--replicaof', '127.0.0.1', String(master.port)] });
});
afterAll(async () => {
  await replica.stop();
  await master.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('an API whose Redis answers PING but refuses writes (a replica, or a master a failover demoted)', () => {
  it('says so on /health and /ready, and answers writes 503 with Retry-After, not 500', async () => {
    const api = await createApi(loadConfig(testEnv({ REDIS_URL: replica.url })), undefined);
    try {
      const probe = new Redis(replica.url);
      expect(await probe.ping()).toBe('PONG');
      probe.disconnect();

      const health = await api.app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ success: false, status: 'degraded', redis: 'down' });
      const ready = await api.app.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ ready: false, redis: 'down' });

      const scheduled = await api.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: { to: '+14155550100', message: 'Hello' } });
      expect(scheduled.statusCode).toBe(503);
      expect(scheduled.headers['retry-after']).toBe('2');
      expect(scheduled.json()).toMatchObject({ success: false, error: 'SERVICE_UNAVAILABLE' });
    } finally {
      await api.close();
    }
  });

  it('says ok on /health against the master', async () => {
    const api = await createApi(loadConfig(testEnv({ REDIS_URL: master.url })), undefined);
    try {
      const health = await api.app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toMatchObject({ status: 'ok', redis: 'up' });
    } finally {
      await api.close();
    }
  });
});

describe('the error handler', () => {
  // Each reply as Redis words it; every one passes by itself once the failover or resharding ends.
  const replies = [
    "READONLY You can't write against a read only replica.",
    'MOVED 3999 127.0.0.1:6381',
    'ASK 3999 127.0.0.1:6381',
    'CLUSTERDOWN The cluster is down',
    'CLUSTERDOWN Hash slot not served',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'LOADING Redis is loading the dataset in memory',
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    'NOREPLICAS Not enough good replicas to write.',
    'Too many Cluster redirections. Last error: MOVED 3999 127.0.0.1:6381',
    "Cluster isn't ready and enableOfflineQueue options is false",
    'Failed to refresh slots cache.',
    'None of startup nodes is available',
    'All sentinels are unreachable. Retrying from scratch after 10ms.',
  ];

  async function answerTo(error: Error) {
    const app = Fastify();
    await app.register(errorHandlerPlugin);
    app.get('/fails', async () => {
      throw error;
    });
    try {
      return await app.inject({ method: 'GET', url: '/fails' });
    } finally {
      await app.close();
    }
  }

  it.each(replies)('answers "%s" with 503 and Retry-After', async (reply) => {
    const response = await answerTo(reply.startsWith('Too many') || !/^[A-Z]+ /.test(reply) ? new Error(reply) : new ReplyError(reply));
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('2');
    expect(response.json()).toMatchObject({ success: false, error: 'SERVICE_UNAVAILABLE' });
  });

  it('keeps a command\'s own error a 500', async () => {
    const response = await answerTo(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'));
    expect(response.statusCode).toBe(500);
    expect(response.headers['retry-after']).toBeUndefined();
  });
});
