import { Queue } from 'bullmq';
import { createCallRecordStore } from './adapters/call-record-store.js';
import { connectRedis, createRedis } from './adapters/redis.js';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { CALL_QUEUE_NAME, callJobPolicy, callRecordTtlSeconds, type CallJobData } from './jobs/call-jobs.js';
import type { Logger } from './logger.js';
import type { Running } from './lib/run-process.js';
import { createQueueAdminService } from './services/queue-admin-service.js';
import { createSchedulingService } from './services/scheduling-service.js';

/** Wires the API's parts from configuration. Tests build the same parts with their own Redis. */
export async function createApi(config: Readonly<Config>, logger: Logger | undefined) {
  const redis = await connectRedis(createRedis(config.redisUrl, 'producer', 'api'));
  const callQueue = new Queue<CallJobData>(CALL_QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  const callRecords = createCallRecordStore(redis, config.QUEUE_PREFIX, callRecordTtlSeconds(config));

  const app = await buildApp({
    scheduling: createSchedulingService({
      callQueue,
      policy: callJobPolicy(config),
      limits: { maxScheduleAheadMs: config.MAX_SCHEDULE_AHEAD_MS, recurringMinIntervalSeconds: config.RECURRING_MIN_INTERVAL_SECONDS },
    }),
    queueAdmin: createQueueAdminService({ callQueue, callRecords }),
    pingRedis: async () => redis.status === 'ready' && (await redis.ping().catch(() => '')) === 'PONG',
    limits: {
      bulkMaxCalls: config.BULK_MAX_CALLS,
      metadataMaxBytes: config.METADATA_MAX_BYTES,
      maxScheduleAheadMs: config.MAX_SCHEDULE_AHEAD_MS,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
    },
    carrier: config.carrier,
    ...(logger && { logger }),
  });

  return {
    app,
    callQueue,
    async close() {
      await app.close();
      await callQueue.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Builds the API and listens on HOST:PORT. */
export async function startApi(config: Readonly<Config>, logger: Logger): Promise<Running> {
  const api = await createApi(config, logger);
  await api.app.listen({ host: config.HOST, port: config.PORT });
  return api;
}
