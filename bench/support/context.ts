import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../src/lib/redis-server.js';
import { loadConfig, type Config } from '../../src/config.js';
import { CALL_QUEUE_NAME, type CallJobData } from '../../src/jobs/call-jobs.js';
import { freePort } from '../../test/helpers/free-port.js';
import { postJson } from './http.js';
import { startApiProcess } from './processes.js';
import { createReport, type Report } from './report.js';

export const RAW_PREFIX = 'raw';
export const RAW_QUEUE_NAME = 'calls';
export const SERVICE_PREFIX = 'switchboard';

/** One call as a CRM sends it, and the same payload raw BullMQ carries. */
export const aCall = { to: '+14155550123', message: 'Hello from Switchboard', priority: 'normal' as const };

/** What every scenario shares: one private Redis, the API, a queue each for raw BullMQ and the service. */
export interface BenchContext {
  quick: boolean;
  report: Report;
  redisUrl: string;
  redis: Redis;
  api: { url: string; port: number };
  /** The service's environment: private Redis, simulated carrier, no request rate limit. */
  env: Record<string, string>;
  rawQueue: Queue;
  serviceQueue: Queue<CallJobData>;
  /** Empties Redis between runs, so each starts as the first did. */
  flush(): Promise<void>;
  /** The service's configuration, as a worker in this process reads it. */
  config(overrides?: Record<string, string>): Readonly<Config>;
  /** POSTs to the API; anything but a 201 fails the run. */
  post(path: string, body: unknown): Promise<unknown>;
}

export async function openBench(quick: boolean): Promise<BenchContext & { close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const redisServer = await startRedisServer({ port: await freePort(), dir, persist: false });
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const port = await freePort();
  const env = {
    REDIS_URL: redisServer.url,
    PORT: String(port),
    QUEUE_PREFIX: SERVICE_PREFIX,
    LOG_LEVEL: 'warn',
    API_RATE_LIMIT_MAX: '100000000',
    BULK_MAX_CALLS: '10000',
    // The figures must not depend on the hour the bench runs at: calling hours have a scenario of their own.
    CALLING_WINDOW: 'Mon-Sun 00:00-24:00',
  };
  const api = await startApiProcess(env);
  const rawQueue = new Queue(RAW_QUEUE_NAME, { connection: redis, prefix: RAW_PREFIX });
  const serviceQueue = new Queue<CallJobData>(CALL_QUEUE_NAME, { connection: redis, prefix: SERVICE_PREFIX });
  return {
    quick,
    report: createReport(),
    redisUrl: redisServer.url,
    redis,
    api: { url: api.url, port },
    env,
    rawQueue,
    serviceQueue,
    flush: async () => void (await redis.flushall()),
    config: (overrides = {}) => loadConfig({ ...env, ...overrides }),
    post: (path, body) => postJson(`${api.url}${path}`, body),
    async close() {
      await api.stop();
      await rawQueue.close();
      await serviceQueue.close();
      redis.disconnect();
      await redisServer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
