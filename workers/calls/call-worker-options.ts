import { connectSettings } from '../../src/connect/connect-settings.js';
import type { RateLimiterOptions, WorkerOptions } from 'bullmq';
import type { RedisConnection as Redis } from '../../src/lib/redis.js';
import type { Config } from '../../src/config.js';
import { workerName } from '../worker-name.js';
import { carrierBackoff, type CallProcessorDeps } from './call.processor.js';

/**
 * How often a worker looks for calls whose worker died. BullMQ takes a call over at the first check
 * that finds it both marked at an earlier check and without its lock, so with checks as far apart as
 * the lock lasts a crashed worker's calls waited two to three lock durations. A tenth of the lock
 * bounds it by the lock's last renewal running out (at most the lock duration after the crash) plus
 * a tenth; the check is one short script over the active calls.
 */
export const stalledCheckInterval = (lockDurationMs: number) => Math.round(lockDurationMs / 10);

/** The call worker's BullMQ options: concurrency, locks, the pacer's fetch limit, the carrier's backoff. */
export function callWorkerOptions(config: Readonly<Config>, connection: Redis, fetchLimit: RateLimiterOptions): WorkerOptions {
  return {
    connection,
    prefix: config.QUEUE_PREFIX,
    name: workerName(),
    concurrency: config.CALL_WORKER_CONCURRENCY,
    lockDuration: config.CALL_LOCK_DURATION_MS,
    stalledInterval: stalledCheckInterval(config.CALL_LOCK_DURATION_MS),
    limiter: fetchLimit,
    settings: {
      backoffStrategy: (attemptsMade, _type, error, job) =>
        carrierBackoff(attemptsMade, Number((job?.opts.backoff as { delay?: number } | undefined)?.delay ?? config.CALL_BACKOFF_MS), error),
    },
  };
}

/** What every dial takes from configuration. */
export const dialSettings = (config: Readonly<Config>): Pick<CallProcessorDeps, 'defaultFrom' | 'callbackBaseUrl' | 'maxCallDurationSeconds' | 'connect'> => ({
  defaultFrom: config.TWILIO_PHONE_NUMBER ?? config.SIMULATED_FROM_NUMBER,
  ...(config.callbackBaseUrl && { callbackBaseUrl: config.callbackBaseUrl }),
  maxCallDurationSeconds: config.MAX_CALL_DURATION_SECONDS,
  connect: connectSettings(config),
});
