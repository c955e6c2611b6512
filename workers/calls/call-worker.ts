import { Queue, Worker } from 'bullmq';
import { openCallLog } from '../../src/adapters/call-log-outbox.js';
import { createCallRecordStore } from '../../src/adapters/call-record-store.js';
import { DialError, type Dialer } from '../../src/adapters/dialer.js';
import { createRedis } from '../../src/adapters/redis.js';
import { createSimulatedCarrier } from '../../src/adapters/simulated-carrier.js';
import { createTwilioDialer } from '../../src/adapters/twilio-dialer.js';
import type { Config } from '../../src/config.js';
import {
  CALL_QUEUE_NAME,
  CALL_STATUS_QUEUE_NAME,
  callJobPolicy,
  callRecordTtlSeconds,
  redialPolicy,
  TRACK_CALL_JOB,
  type CallJobData,
  type CallJobResult,
  type TrackCallData,
} from '../../src/jobs/call-jobs.js';
import type { Running } from '../../src/lib/run-process.js';
import type { Logger } from '../../src/logger.js';
import { createCallLifecycle } from '../../src/services/call-lifecycle.js';
import { carrierBackoff, processCall } from './call.processor.js';
import { nextPollDelay, trackCallStatus } from './call-status.processor.js';
import { pacedRateLimit } from './paced-rate-limit.js';

export function createDialer(config: Readonly<Config>, logger: Logger): Dialer {
  if (config.carrier === 'twilio') {
    logger.info({ apiBaseUrl: config.TWILIO_API_BASE_URL }, 'dialing through Twilio');
    return createTwilioDialer({
      accountSid: config.TWILIO_ACCOUNT_SID!,
      authToken: config.TWILIO_AUTH_TOKEN!,
      apiBaseUrl: config.TWILIO_API_BASE_URL,
      timeoutMs: config.TWILIO_TIMEOUT_MS,
    });
  }
  logger.warn('SIMULATED CARRIER: no Twilio credentials are set, so no real phone will ring. Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER to dial for real.');
  return createSimulatedCarrier({
    latencyMs: config.SIMULATED_DIAL_LATENCY_MS,
    timeScale: config.SIMULATED_TIME_SCALE,
    authToken: config.webhookAuthToken,
    logger,
  });
}

/**
 * Refuses to start with credentials the carrier rejects: every call would fail. Any other problem
 * (the carrier unreachable for now) is logged, and calls are retried as usual.
 */
async function verifyDialer(dialer: Dialer, logger: Logger) {
  if (!dialer.verify) return;
  try {
    logger.info(await dialer.verify());
  } catch (error) {
    if (error instanceof DialError && (error.httpStatus === 401 || error.httpStatus === 403)) {
      throw new Error(`The carrier rejected the credentials: ${error.message}`, { cause: error });
    }
    logger.warn({ err: error }, 'could not verify the carrier account; starting anyway');
  }
}

/**
 * Starts a call worker: it dials queued calls within the concurrency and the paced rate limit, and
 * follows placed calls by polling when no status callbacks can reach this service.
 */
export async function startCallWorker(
  config: Readonly<Config>,
  logger: Logger,
  dialer = createDialer(config, logger),
): Promise<Running & { worker: Worker }> {
  const log = logger.child({ component: 'call-worker' });
  await verifyDialer(dialer, log);
  const connection = createRedis(config.redisUrl, 'consumer', 'worker');
  const queueOptions = { connection, prefix: config.QUEUE_PREFIX };
  const callRecords = createCallRecordStore(connection, config.QUEUE_PREFIX, callRecordTtlSeconds(config));
  const callQueue = new Queue<CallJobData>(CALL_QUEUE_NAME, queueOptions);
  const { callLog, close: closeCallLog } = openCallLog(config, connection, callRecords);
  const lifecycle = createCallLifecycle({ callRecords, callQueue, jobPolicy: callJobPolicy(config), redialDefaults: redialPolicy(config), callLog, logger: log });

  const polling = config.callbackBaseUrl === undefined && dialer.fetchCall !== undefined;
  const statusQueue = polling ? new Queue<TrackCallData>(CALL_STATUS_QUEUE_NAME, queueOptions) : undefined;
  const trackCall = statusQueue
    ? async (jobId: string, callSid: string) => {
        const data = { jobId, callSid, since: new Date().toISOString(), polls: 0 };
        await statusQueue.add(TRACK_CALL_JOB, data, {
          jobId: `track-${jobId}`,
          delay: nextPollDelay(config.STATUS_POLL_INTERVAL_MS, 0),
          attempts: 10,
          backoff: { type: 'exponential', delay: config.STATUS_POLL_INTERVAL_MS },
          removeOnComplete: true,
          removeOnFail: { age: config.KEEP_FAILED_JOBS_HOURS * 3600 },
        });
      }
    : undefined;

  const callDeps = {
    dialer,
    callRecords,
    defaultFrom: config.TWILIO_PHONE_NUMBER ?? config.SIMULATED_FROM_NUMBER,
    ...(config.callbackBaseUrl && { callbackBaseUrl: config.callbackBaseUrl }),
    maxCallDurationSeconds: config.MAX_CALL_DURATION_SECONDS,
    ...(trackCall && { trackCall }),
    callLog,
    logger: log,
  };
  const worker = new Worker<CallJobData, CallJobResult>(CALL_QUEUE_NAME, (job) => processCall(job, callDeps), {
    ...queueOptions,
    concurrency: config.CALL_WORKER_CONCURRENCY,
    lockDuration: config.CALL_LOCK_DURATION_MS,
    stalledInterval: config.CALL_LOCK_DURATION_MS,
    limiter: pacedRateLimit(config.CALL_RATE_MAX, config.CALL_RATE_WINDOW_MS),
    settings: {
      backoffStrategy: (attemptsMade, _type, error, job) =>
        carrierBackoff(attemptsMade, Number((job?.opts.backoff as { delay?: number } | undefined)?.delay ?? config.CALL_BACKOFF_MS), error),
    },
  });
  worker.on('error', (error) => log.error({ err: error }, 'call worker error'));

  const statusDeps = { dialer, callRecords, lifecycle, pollIntervalMs: config.STATUS_POLL_INTERVAL_MS, maxCallDurationSeconds: config.MAX_CALL_DURATION_SECONDS, logger: log };
  const statusWorker = polling
    ? new Worker<TrackCallData>(CALL_STATUS_QUEUE_NAME, (job, token) => trackCallStatus(job, token, statusDeps), { ...queueOptions, concurrency: 50 })
    : undefined;
  statusWorker?.on('error', (error) => log.error({ err: error }, 'call status worker error'));

  await Promise.all([worker.waitUntilReady(), statusWorker?.waitUntilReady()]);
  log.info(
    {
      concurrency: config.CALL_WORKER_CONCURRENCY,
      rate: `${config.CALL_RATE_MAX} per ${config.CALL_RATE_WINDOW_MS} ms`,
      carrier: dialer.name,
      callOutcomes: polling ? 'polled (no PUBLIC_URL)' : `status callbacks to ${config.callbackBaseUrl}`,
    },
    'call worker started',
  );

  return {
    worker,
    async close() {
      await worker.close();
      await statusWorker?.close();
      await dialer.close?.();
      await Promise.all([callQueue.close(), statusQueue?.close(), closeCallLog()]);
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
