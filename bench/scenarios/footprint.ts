import { Worker } from 'bullmq';
import { PRIORITIES } from '../../src/jobs/call-jobs.js';
import { createLogger } from '../../src/logger.js';
import { startCallWorker } from '../../workers/calls/call-worker.js';
import { aCall, RAW_PREFIX, RAW_QUEUE_NAME, type BenchContext } from '../support/context.js';
import { until } from '../support/load.js';
import { postJson } from '../support/http.js';
import { startApiProcess } from '../support/processes.js';
import { freePort } from '../../test/helpers/free-port.js';

const calls = (count: number) => Array.from({ length: count }, (_, index) => ({ ...aCall, lead_id: String(index) }));

async function usedMemory(ctx: BenchContext): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await ctx.redis.info('memory'))![1]);
}

/** Redis bytes per queued call; and finished calls trimmed to a count, so Redis stays bounded. */
export async function footprint(ctx: BenchContext) {
  const count = 10_000;
  const bytesPerCall = async (fill: () => Promise<unknown>) => {
    await ctx.flush();
    const before = await usedMemory(ctx);
    await fill();
    return ((await usedMemory(ctx)) - before) / count;
  };
  const raw = await bytesPerCall(() => ctx.rawQueue.addBulk(calls(count).map((data) => ({ name: 'call', data, opts: { priority: PRIORITIES.normal } }))));
  const service = await bytesPerCall(() => ctx.post('/api/queue/schedule-bulk-calls', { calls: calls(count) }));
  ctx.report.record({ scenario: 'footprint of a queued call', metric: 'Redis bytes', raw, service, unit: 'B', note: 'target ≤ 1.3× raw' }, { lowerIsBetter: true });

  await trimming(ctx, ctx.quick ? 500 : 1_000);
}

/** Dials three times as many calls as are kept: Redis holds the kept ones, not all. */
async function trimming(ctx: BenchContext, keep: number) {
  const dialed = keep * 3;
  const scenario = `${dialed.toLocaleString('en')} calls finished, ${keep.toLocaleString('en')} kept`;

  await ctx.flush();
  const connection = ctx.redis.duplicate();
  const rawWorker = new Worker(RAW_QUEUE_NAME, async () => ({ callSid: 'CA0', callStatus: 'queued' }), { connection, prefix: RAW_PREFIX, concurrency: 50 });
  let rawFinished = 0;
  rawWorker.on('completed', () => rawFinished++);
  await ctx.rawQueue.addBulk(calls(dialed).map((data) => ({ name: 'call', data, opts: { priority: PRIORITIES.normal, removeOnComplete: { count: keep } } })));
  await until(() => rawFinished >= dialed, 'raw calls to finish');
  await rawWorker.close();
  connection.disconnect();
  const rawKept = await ctx.rawQueue.getCompletedCount();
  const rawBytes = await usedMemory(ctx);

  await ctx.flush();
  // The producer sets how long a job is kept: an API of its own, with the count to keep.
  const keepEnv = { KEEP_COMPLETED_JOBS_MAX: String(keep) };
  const api = await startApiProcess({ ...ctx.env, ...keepEnv, PORT: String(await freePort()) });
  const worker = await startCallWorker(
    ctx.config({ ...keepEnv, CALL_WORKER_CONCURRENCY: '50', CALL_RATE_MAX: '1000000', CALL_RATE_WINDOW_MS: '1000', SIMULATED_DIAL_LATENCY_MS: '0', MAX_CONCURRENT_CALLS: '1000000', SIMULATED_TIME_SCALE: '0.001' }),
    createLogger('silent'),
  );
  let finished = 0;
  worker.worker.on('completed', () => finished++);
  await postJson(`${api.url}/api/queue/schedule-bulk-calls`, { calls: calls(dialed) });
  await until(() => finished >= dialed, 'service calls to finish');
  await worker.close();
  await api.stop();
  const serviceKept = await ctx.serviceQueue.getCompletedCount();
  const serviceBytes = await usedMemory(ctx);

  ctx.report.record({ scenario, metric: 'completed jobs kept', raw: rawKept, service: serviceKept, unit: 'jobs', note: `KEEP_COMPLETED_JOBS_MAX=${keep}` }, { lowerIsBetter: true });
  ctx.report.record({ scenario, metric: 'Redis memory', raw: rawBytes / 1024 / 1024, service: serviceBytes / 1024 / 1024, unit: 'MiB', note: 'service: with each call\'s record' }, { lowerIsBetter: true });
}
