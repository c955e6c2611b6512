import { hostname } from 'node:os';
import { WaitingError, Worker, type Job } from 'bullmq';
import { createCore } from '../../src/core.js';
import { DialError, type Dialer } from '../../src/carriers/carrier.js';
import { createRedis } from '../../src/lib/redis.js';
import { createDialer } from '../../src/carriers/create-carrier.js';
import type { Config } from '../../src/config.js';
import {
  CALL_QUEUE_NAME,
  CALL_STATUS_QUEUE_NAME,
  TRACK_CALL_JOB,
  WORKER_HEARTBEAT_MS,
  workerHeartbeatKey,
  type CallJobData,
  type CallJobResult,
  type TrackCallData,
} from '../../src/jobs/call-jobs.js';
import type { Running } from '../../src/lib/run-process.js';
import type { Logger } from '../../src/logger.js';
import { processMetrics } from '../../src/metrics.js';
import { carrierBackoff, processCall } from './call.processor.js';
import { nextPollDelay, trackCallStatus } from '../call-status/call-status.processor.js';
import { wakeForDelayedJobs } from './delayed-wake.js';
import { createCallPacer } from './call-pacer.js';

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
 * How often a worker looks for calls whose worker died. BullMQ takes a call over at the first check
 * that finds it both marked at an earlier check and without its lock, so with checks as far apart as
 * the lock lasts a crashed worker's calls waited two to three lock durations. A tenth of the lock
 * bounds it by the lock's last renewal running out (at most the lock duration after the crash) plus
 * a tenth; the check is one short script over the active calls.
 */
export const stalledCheckInterval = (lockDurationMs: number) => Math.round(lockDurationMs / 10);

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
  const core = createCore(config, { redis: connection, logger: log, dialer });
  const { callQueue, callRecords, callLog, capacity, lifecycle } = core;

  // Waiting for a slot: the worker stops fetching until one frees, told at once by the capacity
  // events (a slow timer is only a safety net for a missed event).
  let waitingForSlot = false;
  let safetyNet: NodeJS.Timeout | undefined;
  let refused: Job<CallJobData> | undefined;
  const frontOfItsLevel = (job: Job<CallJobData>) => job.changePriority({ priority: job.opts.priority ?? 2, lifo: true });
  const slotFreed = async () => {
    if (!waitingForSlot) return;
    waitingForSlot = false;
    clearInterval(safetyNet);
    await worker.resume();
    // While pausing, the worker may have taken the wake-up marker the returned job left: re-adding
    // it leaves a fresh one, so the worker fetches now rather than after its long poll.
    const job = refused;
    refused = undefined;
    if (job) await job.changePriority({ priority: job.opts.priority ?? 2, lifo: false }).then(() => frontOfItsLevel(job)).catch(() => {});
  };
  const events = await capacity.onSlotFreed(() => void slotFreed());
  const waitForSlot = async (job: Job<CallJobData>, token: string | undefined): Promise<never> => {
    if (!waitingForSlot) {
      waitingForSlot = true;
      void worker.pause(true);
      safetyNet = setInterval(() => void slotFreed(), 2_000);
    }
    await backInLine(job, token);
    refused = job;
    throw new WaitingError();
  };
  // Back to the front of its priority level: waiting for a slot or a turn must not cost it its place.
  const backInLine = async (job: Job<CallJobData>, token: string | undefined) => {
    await job.moveToWait(token);
    await frontOfItsLevel(job).catch(() => {});
  };
  const putBack = async (job: Job<CallJobData>, token: string | undefined): Promise<never> => {
    await backInLine(job, token);
    throw new WaitingError();
  };
  // A worker closing stops waiting for turns: those calls go back for a worker to take later.
  const closing = new AbortController();

  const statusQueue = core.callStatusQueue;
  const polling = statusQueue !== undefined;
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

  const pacer = createCallPacer(connection, `${config.QUEUE_PREFIX}:${CALL_QUEUE_NAME}:pacer`, config.CALL_RATE_MAX, config.CALL_RATE_WINDOW_MS);
  const callDeps = {
    dialer,
    ...(pacer.waitForTurn && { pacing: { waitForTurn: () => pacer.waitForTurn!(closing.signal), putBack } }),
    callRecords,
    defaultFrom: config.TWILIO_PHONE_NUMBER ?? config.SIMULATED_FROM_NUMBER,
    ...(config.callbackBaseUrl && { callbackBaseUrl: config.callbackBaseUrl }),
    maxCallDurationSeconds: config.MAX_CALL_DURATION_SECONDS,
    ...(trackCall && { trackCall }),
    callLog,
    capacity: {
      acquire: (jobId: string, data: CallJobData) => capacity.acquire({ jobId, data }),
      release: async (jobId: string, data: CallJobData) => {
        await capacity.release({ jobId, data });
      },
      waitForSlot,
    },
    agentTarget: config.AGENT_DIAL_TARGET,
    metrics: processMetrics(),
    logger: log,
  };
  // Named by machine and process, so Bull Board's list of a queue's workers says which is which.
  const workerName = `${hostname()}:${process.pid}`;
  const worker = new Worker<CallJobData, CallJobResult>(CALL_QUEUE_NAME, (job, token) => processCall(job, callDeps, token), {
    ...queueOptions,
    name: workerName,
    concurrency: config.CALL_WORKER_CONCURRENCY,
    lockDuration: config.CALL_LOCK_DURATION_MS,
    stalledInterval: stalledCheckInterval(config.CALL_LOCK_DURATION_MS),
    limiter: pacer.fetchLimit,
    settings: {
      backoffStrategy: (attemptsMade, _type, error, job) =>
        carrierBackoff(attemptsMade, Number((job?.opts.backoff as { delay?: number } | undefined)?.delay ?? config.CALL_BACKOFF_MS), error),
    },
  });
  worker.on('error', (error) => log.error({ err: error }, 'call worker error'));

  const statusDeps = { dialer, callRecords, lifecycle, pollIntervalMs: config.STATUS_POLL_INTERVAL_MS, maxCallDurationSeconds: config.MAX_CALL_DURATION_SECONDS, logger: log };
  const statusWorker = polling
    ? new Worker<TrackCallData>(CALL_STATUS_QUEUE_NAME, (job, token) => trackCallStatus(job, token, statusDeps), { ...queueOptions, name: workerName, concurrency: 50 })
    : undefined;
  statusWorker?.on('error', (error) => log.error({ err: error }, 'call status worker error'));

  // One process at a time repairs slot drift, every CAPACITY_RECONCILE_SECONDS.
  const reconciling = setInterval(async () => {
    try {
      await capacity.reconcileInTurn(config.CAPACITY_RECONCILE_SECONDS * 1000);
    } catch (error) {
      log.warn({ err: error }, 'capacity reconciliation failed; it runs again shortly');
    }
  }, config.CAPACITY_RECONCILE_SECONDS * 1000);

  const delayedWake = wakeForDelayedJobs(connection, callQueue);

  const heartbeatKey = workerHeartbeatKey(config.QUEUE_PREFIX);
  const beat = () => connection.zadd(heartbeatKey, Date.now(), worker.id).catch(() => 0);
  const heartbeat = setInterval(beat, WORKER_HEARTBEAT_MS);

  await Promise.all([worker.waitUntilReady(), statusWorker?.waitUntilReady()]);
  await beat();
  log.info(
    {
      concurrency: config.CALL_WORKER_CONCURRENCY,
      maxConcurrentCalls: config.MAX_CONCURRENT_CALLS,
      rate: `${config.CALL_RATE_MAX} per ${config.CALL_RATE_WINDOW_MS} ms`,
      carrier: dialer.name,
      callOutcomes: polling ? 'polled (no PUBLIC_URL)' : `status callbacks to ${config.callbackBaseUrl}`,
    },
    'call worker started',
  );

  return {
    worker,
    async close() {
      closing.abort();
      clearInterval(heartbeat);
      await connection.zrem(heartbeatKey, worker.id).catch(() => 0);
      clearInterval(reconciling);
      clearInterval(safetyNet);
      delayedWake.close();
      await events.close();
      await worker.close();
      await statusWorker?.close();
      await core.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
