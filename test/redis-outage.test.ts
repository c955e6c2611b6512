import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../src/lib/redis-server.js';
import { freePort } from './helpers/free-port.js';
import { until } from './helpers/callbacks.js';
import { aCall, startService, type Service } from './helpers/harness.js';

describe('while Redis is unreachable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-outage-'));
  let redis: RedisServerHandle | undefined;
  let service: Service | undefined;
  afterEach(async () => {
    await service?.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the API answers 503 at once, and serves again when Redis returns', async () => {
    const port = await freePort();
    redis = await startRedisServer({ port, dir, persist: false });
    service = await startService({ REDIS_URL: redis.url });
    const schedule = () => service!.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall() });
    expect((await schedule()).statusCode).toBe(201);

    await redis.stop();
    const refused = await schedule();
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ success: false, error: 'SERVICE_UNAVAILABLE' });
    expect((await service.app.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({ status: 'degraded', redis: 'down' });
    expect((await service.app.inject({ method: 'GET', url: '/api/queue/stats' })).statusCode).toBe(503);
    expect((await service.app.inject({ method: 'GET', url: '/ready' })).json()).toMatchObject({ ready: false, redis: 'down' });

    redis = await startRedisServer({ port, dir, persist: false });
    // ioredis reconnects on its own; /health turns 200 once it has.
    const healthy = async (): Promise<void> => {
      if ((await service!.app.inject({ method: 'GET', url: '/health' })).statusCode === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return healthy();
    };
    await healthy();
    expect((await schedule()).statusCode).toBe(201);
  });
});

describe('a Redis outage under load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-outage-load-'));
  let redis: RedisServerHandle | undefined;
  let service: Service | undefined;
  afterEach(async () => {
    await service?.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives prompt 503s, and every call accepted before it is dialed once Redis is back', async () => {
    const port = await freePort();
    // Persistent, as a production Redis is: what was accepted must survive its restart.
    redis = await startRedisServer({ port, dir, persist: true });
    // A call the worker was finishing when Redis went stays active until its lock lapses and another
    // look for stalled calls takes it over (0.5-1.1 times the lock): a short lock keeps that inside the wait below.
    const env = { REDIS_URL: redis.url, CALL_RATE_MAX: '20', CALL_RATE_WINDOW_MS: '1000', SIMULATED_DIAL_LATENCY_MS: '20', CALL_LOCK_DURATION_MS: '5000' };
    service = await startService(env);
    const worker = await service.startWorker(env);
    const accepted: string[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ lead_id: String(i) }) });
      expect(response.statusCode).toBe(201);
      accepted.push(response.json().jobId);
    }

    await redis.stop();
    // Answered while Redis is still down: a request that waited for Redis would never come back.
    const refused = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall() });
    expect(refused.statusCode).toBe(503);
    expect((await service.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);

    redis = await startRedisServer({ port, dir, persist: true });
    const done = await until(
      async () => (await Promise.all(accepted.map((jobId) => service!.queue.getJobState(jobId).catch(() => 'unknown')))),
      (states) => states.every((state) => state === 'completed'),
      30_000,
    );
    expect(done).toHaveLength(30);
    expect(worker.isRunning()).toBe(true);
  }, 60_000);
});
