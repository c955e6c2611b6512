import { Worker } from 'bullmq';
import { outboxBackoff, type OutboxJob } from '../../src/call-log/call-log-outbox.js';
import { createRedis } from '../../src/lib/redis.js';
import { logsCalls } from '../../src/carriers/create-carrier.js';
import { createCallLogTable } from '../../src/call-log/call-log-table.js';
import type { Config } from '../../src/config.js';
import { CALL_LOG_QUEUE_NAME } from '../../src/jobs/call-jobs.js';
import type { Running } from '../../src/lib/run-process.js';
import type { Logger } from '../../src/logger.js';

/**
 * Drains the call log outbox into Supabase. While Supabase is unreachable each chunk is retried,
 * backing off to a minute; rows wait in Redis and the backlog drains when it returns.
 */
export async function startCallLogWorker(config: Readonly<Config>, logger: Logger): Promise<Running> {
  const log = logger.child({ component: 'call-log' });
  if (!logsCalls(config)) {
    log.info('call log off: set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY to log every call to Supabase');
    return { close: async () => {} };
  }
  const store = createCallLogTable({ url: config.SUPABASE_URL, serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY });
  const connection = createRedis(config.redis, 'consumer', 'call-log');
  let failing = false;
  const worker = new Worker<OutboxJob>(
    CALL_LOG_QUEUE_NAME,
    async (job) => {
      await store.upsert(job.data.rows);
      if (failing) log.info('Supabase is taking call log rows again');
      failing = false;
    },
    {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: 4,
      settings: { backoffStrategy: (attemptsMade) => outboxBackoff(attemptsMade, config.CALL_LOG_RETRY_MAX_MS) },
    },
  );
  worker.on('failed', (job, error) => {
    if (!failing) log.warn({ err: error, rows: job?.data.rows.length }, 'Supabase is not taking call log rows; they wait in the outbox');
    failing = true;
  });
  worker.on('error', (error) => log.error({ err: error }, 'call log worker error'));
  await worker.waitUntilReady();
  log.info({ supabaseUrl: config.SUPABASE_URL }, 'call log on: every call is logged to Supabase');
  return {
    async close() {
      await worker.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
