import { Worker } from 'bullmq';
import { createCallRecordStore } from '../../src/adapters/call-record-store.js';
import { DialError, type Dialer } from '../../src/adapters/dialer.js';
import { createRedis } from '../../src/adapters/redis.js';
import { createSimulatedDialer } from '../../src/adapters/simulated-dialer.js';
import { createTwilioDialer } from '../../src/adapters/twilio-dialer.js';
import type { Config } from '../../src/config.js';
import { CALL_QUEUE_NAME, callRecordTtlSeconds, type CallJobData, type CallJobResult } from '../../src/jobs/call-jobs.js';
import type { Running } from '../../src/lib/run-process.js';
import type { Logger } from '../../src/logger.js';
import { processCall } from './call.processor.js';
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
  return createSimulatedDialer({ latencyMs: config.SIMULATED_DIAL_LATENCY_MS });
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

/** Starts a call worker: it dials queued calls within the concurrency and the paced rate limit. */
export async function startCallWorker(config: Readonly<Config>, logger: Logger, dialer = createDialer(config, logger)): Promise<Running & { worker: Worker }> {
  const log = logger.child({ component: 'call-worker' });
  await verifyDialer(dialer, log);
  const connection = createRedis(config.redisUrl, 'consumer', 'worker');
  const deps = {
    dialer,
    callRecords: createCallRecordStore(connection, config.QUEUE_PREFIX, callRecordTtlSeconds(config)),
    defaultFrom: config.TWILIO_PHONE_NUMBER ?? config.SIMULATED_FROM_NUMBER,
    ...(config.PUBLIC_URL && { statusCallbackUrl: new URL('/webhooks/twilio/status', config.PUBLIC_URL).href }),
    logger: log,
  };

  const worker = new Worker<CallJobData, CallJobResult>(CALL_QUEUE_NAME, (job) => processCall(job, deps), {
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.CALL_WORKER_CONCURRENCY,
    limiter: pacedRateLimit(config.CALL_RATE_MAX, config.CALL_RATE_WINDOW_MS),
  });
  worker.on('error', (error) => log.error({ err: error }, 'worker error'));
  await worker.waitUntilReady();
  log.info(
    { concurrency: config.CALL_WORKER_CONCURRENCY, rate: `${config.CALL_RATE_MAX} per ${config.CALL_RATE_WINDOW_MS} ms`, carrier: dialer.name },
    'call worker started',
  );

  return {
    worker,
    async close() {
      await worker.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
