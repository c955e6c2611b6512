import { Worker } from 'bullmq';
import { createCarrier } from '../../src/carriers/create-carrier.js';
import type { Config } from '../../src/config.js';
import { createCore } from '../../src/core.js';
import { systemClock, type Clock } from '../../src/contact/contact-gate.js';
import { CALL_QUEUE_NAME, type CallJobData, type CallJobResult } from '../../src/jobs/call-jobs.js';
import { createRedis } from '../../src/lib/redis.js';
import type { Running } from '../../src/lib/run-process.js';
import type { Logger } from '../../src/logger.js';
import { processMetrics } from '../../src/metrics.js';
import { startCallStatusWorker } from '../call-status/call-status-worker.js';
import { createStatusPolls } from '../call-status/status-polls.js';
import { closeInOrder } from '../close-in-order.js';
import { startHeartbeat } from '../heartbeat.js';
import { callWorkerOptions, dialSettings } from './call-worker-options.js';
import { processCall, type CallProcessorDeps } from './call.processor.js';
import { createCallPacer } from './call-pacer.js';
import { wakeForDelayedJobs } from './delayed-wake.js';
import { startReconcileTimer } from './reconcile-timer.js';
import { startSlotWait } from './slot-wait.js';
import { startCampaignControl } from '../../src/campaigns/campaign-control.js';
import { startCampaignFeeding } from './campaign-feeding.js';
import { verifyCarrier } from './verify-carrier.js';

/**
 * Starts a call worker: it dials queued calls within the concurrency, the live-call capacity and
 * the paced rate limit, and follows placed calls by polling when no status callbacks can reach
 * this service.
 */
export async function startCallWorker(
  config: Readonly<Config>,
  logger: Logger,
  dialer = createCarrier(config, logger),
  clock: Clock = systemClock,
): Promise<Running & { worker: Worker<CallJobData, CallJobResult> }> {
  const log = logger.child({ component: 'call-worker' });
  await verifyCarrier(dialer, log);
  const connection = createRedis(config.redis, 'consumer', 'worker');
  const core = createCore(config, { redis: connection, logger: log, dialer, clock });
  await core.webhooks.subscriptions.ready();
  const slotWait = await startSlotWait(core.capacity);
  const campaigns = await startCampaignControl(connection, createRedis(config.redis, 'consumer', 'campaign-events'), config.QUEUE_PREFIX, log);
  const pacer = createCallPacer(connection, `${config.QUEUE_PREFIX}:${CALL_QUEUE_NAME}:pacer`, config.CALL_RATE_MAX, config.CALL_RATE_WINDOW_MS);
  // A worker closing stops waiting for turns: those calls go back for a worker to take later.
  const closing = new AbortController();
  const deps: CallProcessorDeps = {
    ...dialSettings(config),
    dialer,
    callRecords: core.callRecords,
    callLog: core.callLog,
    capacity: core.capacity,
    ...(core.callStatusQueue && { statusPolls: createStatusPolls(core.callStatusQueue, config) }),
    slotWait,
    pacer,
    closing: closing.signal,
    gate: core.gate,
    campaigns,
    clock,
    activity: core.activity,
    metrics: processMetrics(),
    logger: log,
  };
  const worker = new Worker<CallJobData, CallJobResult>(CALL_QUEUE_NAME, (job, token) => processCall(job, deps, token), callWorkerOptions(config, connection, pacer.fetchLimit));
  worker.on('error', (error) => log.error({ err: error }, 'call worker error'));
  slotWait.pauses(worker);
  const statusWorker = core.callStatusQueue && startCallStatusWorker(config, core, connection, log);
  const reconciler = startReconcileTimer(core.capacity, config.CAPACITY_RECONCILE_SECONDS * 1000, log);
  const delayedWake = wakeForDelayedJobs(connection, core.callQueue);
  const feeding = startCampaignFeeding(core.campaignFeeder, config.CAMPAIGN_FEED_INTERVAL_MS, log);

  await Promise.all([worker.waitUntilReady(), statusWorker?.waitUntilReady()]);
  const heartbeat = await startHeartbeat(connection, config.QUEUE_PREFIX, worker.id);
  const rate = `${config.CALL_RATE_MAX} per ${config.CALL_RATE_WINDOW_MS} ms`;
  const callOutcomes = statusWorker ? 'polled (no PUBLIC_URL)' : `status callbacks to ${config.callbackBaseUrl}`;
  log.info({ concurrency: config.CALL_WORKER_CONCURRENCY, maxConcurrentCalls: config.MAX_CONCURRENT_CALLS, rate, carrier: dialer.name, callOutcomes }, 'call worker started');

  const stopWaitingForTurns = { close: () => closing.abort() };
  const disconnect = { close: () => connection.quit().catch(() => connection.disconnect()) };
  return {
    worker,
    // Stop taking part first (turns, heartbeat, timers), then let the calls in hand finish, then let go of Redis.
    close: () => closeInOrder([stopWaitingForTurns, feeding, heartbeat, reconciler, slotWait, delayedWake, worker, statusWorker, campaigns, core, disconnect]),
  };
}
