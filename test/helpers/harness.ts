import { randomUUID } from 'node:crypto';
import type { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { createApi } from '../../src/api-runtime.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createCarrier } from '../../src/carriers/create-carrier.js';
import type { Clock } from '../../src/contact/contact-gate.js';
import { freePort } from './free-port.js';
import { startEventDeliveryWorker } from '../../workers/events/event-delivery-worker.js';
import { startCallLogWorker } from '../../workers/call-log/call-log-worker.js';
import { startCallWorker } from '../../workers/calls/call-worker.js';
import { TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, type TwilioStandIn } from './twilio-stand-in.js';

export const silentLogger = createLogger('silent');

/** Environment for one test: the harness's private Redis and a key prefix no other test uses. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: `test-${randomUUID().slice(0, 8)}`,
    LOG_LEVEL: 'silent',
    CALL_RATE_MAX: '1000',
    CALL_RATE_WINDOW_MS: '1000',
    CALL_BACKOFF_MS: '100',
    SIMULATED_DIAL_LATENCY_MS: '0',
    // Capacity has tests of its own; elsewhere it should not be what a test runs into.
    MAX_CONCURRENT_CALLS: '1000',
    // So do calling hours: elsewhere a call is dialed whatever the hour the suite runs at.
    CALLING_WINDOW: 'Mon-Sun 00:00-24:00',
    API_RATE_LIMIT_MAX: '100000',
    ...overrides,
  };
}

export const twilioEnv = (standIn: TwilioStandIn) => ({
  TWILIO_ACCOUNT_SID: TEST_ACCOUNT_SID,
  TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
  TWILIO_PHONE_NUMBER: '+14155550100',
  TWILIO_API_BASE_URL: standIn.url,
});

/** The API as the service builds it, plus workers on demand, all torn down with their keys. */
export async function startService(overrides: Record<string, string> = {}, { clock }: { clock?: Clock } = {}) {
  // The API listens on a port of its own, so simulated status callbacks reach this test's API only.
  const env = testEnv({ PORT: String(await freePort()), ...overrides });
  const config = loadConfig(env);
  const api = await createApi(config, undefined, clock);
  await api.app.listen({ host: '127.0.0.1', port: config.PORT });
  const workers: Array<{ close(): Promise<void> }> = [];

  return {
    config,
    env,
    baseUrl: `http://127.0.0.1:${config.PORT}`,
    app: api.app,
    queue: api.callQueue,
    async startWorker(workerOverrides: Record<string, string> = {}) {
      const workerConfig = loadConfig({ ...env, ...workerOverrides });
      const running = await startCallWorker(workerConfig, silentLogger, createCarrier(workerConfig, silentLogger), clock);
      workers.push(running);
      return running.worker;
    },
    async startCallLogWorker() {
      workers.push(await startCallLogWorker(config, silentLogger));
    },
    /** Event deliveries to webhook subscribers, as a worker process runs them. */
    async startEventWorker(workerOverrides: Record<string, string> = {}) {
      workers.push(await startEventDeliveryWorker(loadConfig({ ...env, ...workerOverrides }), silentLogger));
    },
    /** Keys of this service under its prefix, for checking what Redis holds. */
    async redisKeys(pattern: string) {
      const redis = new Redis(config.redisUrl);
      try {
        return await redis.keys(`${config.QUEUE_PREFIX}:${pattern}`);
      } finally {
        redis.disconnect();
      }
    },
    async stop() {
      await Promise.all(workers.map((worker) => worker.close()));
      await api.close();
      await deleteKeys(config);
    },
  };
}

async function deleteKeys(config: Readonly<Config>) {
  const redis = new Redis(config.redisUrl);
  try {
    const stream = redis.scanStream({ match: `${config.QUEUE_PREFIX}:*`, count: 500 });
    for await (const keys of stream as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

export type Service = Awaited<ReturnType<typeof startService>>;

/** Resolves with the first `count` jobs for which the worker emits `event`. */
export function nextJobs(worker: Worker, event: 'completed' | 'failed' | 'active', count: number): Promise<Job[]> {
  return new Promise((resolve) => {
    const seen: Job[] = [];
    const listener = (job: Job) => {
      seen.push(job);
      if (seen.length === count) {
        worker.off(event, listener);
        resolve(seen);
      }
    };
    worker.on(event, listener);
  });
}

export const aCall = (overrides: Record<string, unknown> = {}) => ({
  to: '+14155550123',
  message: 'Hello from Switchboard',
  ...overrides,
});

export const supabaseEnv = (supabase: { url: string; serviceRoleKey: string }) => ({
  SUPABASE_URL: supabase.url,
  SUPABASE_SERVICE_ROLE_KEY: supabase.serviceRoleKey,
  CALL_LOG_RETRY_MAX_MS: '300',
});

/**
 * A clock that reads `start` now and runs `speed` times faster than real time: a test sees hours of
 * calling windows pass in seconds. Waits by it last 1/speed as long in real time.
 */
export function fastClock(start: string, speed: number): Clock {
  const realStart = Date.now();
  const virtualStart = Date.parse(start);
  return { now: () => virtualStart + (Date.now() - realStart) * speed, realDelayMs: (ms) => Math.max(0, ms / speed) };
}
