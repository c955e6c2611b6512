import { Worker, type Job } from 'bullmq';
import { PRIORITIES } from '../../src/jobs/call-jobs.js';
import { createLogger } from '../../src/logger.js';
import { startCallWorker } from '../../workers/calls/call-worker.js';
import { aCall, RAW_PREFIX, RAW_QUEUE_NAME, type BenchContext } from '../support/context.js';
import { concurrently, until } from '../support/load.js';
import { percentile } from '../support/report.js';
import { startTwilioLatencyStandIn } from '../support/twilio-latency-stand-in.js';
import { rawDial, twilioEnv } from '../raw/dial.js';

/** How late each job started: `opts.delay` keeps the delay asked for (BullMQ clears the job's own once due). */
const rawLateness = (jobs: readonly Job[]) => jobs.map((job) => (job.processedOn ?? 0) - (job.timestamp + (job.opts.delay ?? 0)));
/** The service's calls carry the time they were due. */
const serviceLateness = (jobs: readonly Job<{ scheduleAt?: string }>[]) => jobs.map((job) => (job.processedOn ?? 0) - Date.parse(job.data.scheduleAt!));

/** Delayed calls spread over a few seconds, and all due at one instant, with no rate limit: how late each starts. */
export async function delayed(ctx: BenchContext) {
  const count = ctx.quick ? 500 : 2_000;
  const spreadMs = ctx.quick ? 2_000 : 10_000;
  // The first call is due once every call is queued and the worker is up, so that nothing else the
  // bench does while scheduling competes with the worker.
  // On a busy machine scheduling can take longer: each call is then asked for by how long from now
  // it is due (delayMs, never in the past), and the rows say how many were scheduled after their time.
  const lead = ctx.quick ? 2_000 : 4_000;
  const shapes = [
    { label: `spread over ${spreadMs / 1000} s`, offsetOf: (index: number) => lead + Math.round((index * spreadMs) / count), target: 'target p99 < 20 ms' },
    { label: 'due at one instant', offsetOf: () => lead, target: 'target: no later than raw' },
  ];
  for (const { label, offsetOf, target } of shapes) {
    const scenario = `${count.toLocaleString('en')} delayed calls, ${label}`;

    // Both sides place each call with the Twilio SDK, against a stand-in that answers at once.
    const twilio = await startTwilioLatencyStandIn(0);
    await ctx.flush();
    const rawDone: Job[] = [];
    let start = Date.now();
    await ctx.rawQueue.addBulk(Array.from({ length: count }, (_, index) => ({ name: 'call', data: aCall, opts: { delay: start + offsetOf(index) - Date.now(), priority: PRIORITIES.normal } })));
    const connection = ctx.redis.duplicate();
    const rawWorker = new Worker(RAW_QUEUE_NAME, rawDial(twilio.url), { connection, prefix: RAW_PREFIX, concurrency: 50 });
    rawWorker.on('completed', (job) => rawDone.push(job));
    await until(() => rawDone.length >= count, 'raw delayed calls');
    await rawWorker.close();
    connection.disconnect();

    await ctx.flush();
    start = Date.now();
    let scheduledLate = 0;
    await concurrently(count, 20, (index) => {
      const delayMs = start + offsetOf(index) - Date.now();
      if (delayMs <= 0) scheduledLate++;
      return ctx.post('/api/queue/schedule-delayed-call', { ...aCall, delayMs: Math.max(0, delayMs) });
    });
    const schedulingOverranMs = Date.now() - (start + lead);
    const worker = await startCallWorker(
      ctx.config({ ...twilioEnv(twilio.url, ctx.api.url), CALL_RATE_MAX: '1000000', CALL_RATE_WINDOW_MS: '1000', CALL_WORKER_CONCURRENCY: '50', MAX_CONCURRENT_CALLS: '1000000' }),
      createLogger('silent'),
    );
    const serviceDone: Job[] = [];
    worker.worker.on('completed', (job) => serviceDone.push(job));
    await until(() => serviceDone.length >= count, 'service delayed calls');
    await worker.close();
    await twilio.close();

    const raw = rawLateness(rawDone);
    const service = serviceLateness(serviceDone);
    ctx.report.record({ scenario, metric: 'lateness p50', raw: percentile(raw, 50), service: percentile(service, 50), unit: 'ms' }, { lowerIsBetter: true });
    const overran = schedulingOverranMs > 0 ? `; scheduling overran the lead by ${schedulingOverranMs} ms, ${scheduledLate} calls asked for after their time` : '';
    ctx.report.record({ scenario, metric: 'lateness p99', raw: percentile(raw, 99), service: percentile(service, 99), unit: 'ms', note: `${target}${overran}` }, { lowerIsBetter: true });
    ctx.report.record({ scenario, metric: 'lateness max', raw: Math.max(...raw), service: Math.max(...service), unit: 'ms' }, { lowerIsBetter: true });
  }
}
