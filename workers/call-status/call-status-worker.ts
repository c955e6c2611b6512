import { Worker } from 'bullmq';
import type { RedisConnection as Redis } from '../../src/lib/redis.js';
import type { Config } from '../../src/config.js';
import type { Core } from '../../src/core.js';
import { CALL_STATUS_QUEUE_NAME, type TrackCallData } from '../../src/jobs/call-jobs.js';
import type { Logger } from '../../src/logger.js';
import { workerName } from '../worker-name.js';
import { trackCallStatus } from './call-status.processor.js';

/** Polls placed calls until they end; a process runs it when no status callbacks can reach the API. */
export function startCallStatusWorker(config: Readonly<Config>, core: Pick<Core, 'dialer' | 'callRecords' | 'lifecycle'>, connection: Redis, logger: Logger) {
  const deps = {
    dialer: core.dialer,
    callRecords: core.callRecords,
    lifecycle: core.lifecycle,
    pollIntervalMs: config.STATUS_POLL_INTERVAL_MS,
    maxCallDurationSeconds: config.MAX_CALL_DURATION_SECONDS,
    logger,
  };
  const worker = new Worker<TrackCallData>(CALL_STATUS_QUEUE_NAME, (job, token) => trackCallStatus(job, token, deps), {
    connection,
    prefix: config.QUEUE_PREFIX,
    name: workerName(),
    concurrency: 50,
  });
  worker.on('error', (error) => logger.error({ err: error }, 'call status worker error'));
  return worker;
}
