import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import { PRIORITIES } from '../../src/jobs/call-jobs.js';
import { createLogger } from '../../src/logger.js';
import { startCallWorker } from '../../workers/calls/call-worker.js';
import { aCall, RAW_PREFIX, RAW_QUEUE_NAME, SERVICE_PREFIX, type BenchContext } from '../support/context.js';
import { until } from '../support/load.js';
import { percentile } from '../support/report.js';

/** A call bridged to the simulated agent lasts 11 s (3 s to answer, 8 s of talk); played 20 times faster, 550 ms. */
const TIME_SCALE = 0.05;
const CALL_MS = 550;

/** The i-th refill pairs the i-th freed slot with the dial that took it: the first `slots` dials needed none. */
function refills(freedAt: readonly number[], dialedAt: readonly number[], slots: number): number[] {
  const freed = [...freedAt].sort((a, b) => a - b);
  const dialed = [...dialedAt].sort((a, b) => a - b).slice(slots);
  return dialed.map((at, index) => at - freed[index]!).filter((gap) => Number.isFinite(gap));
}

/**
 * A backlog against a cap of live calls: live calls never above it, and how soon a freed slot is
 * dialed into. Raw BullMQ's nearest equivalent is a worker whose concurrency is the cap and whose
 * job lasts as long as the call.
 */
export async function capacity(ctx: BenchContext) {
  const slots = 5;
  const count = ctx.quick ? 40 : 400;
  const scenario = `${count} calls through ${slots} live-call slots`;
  // Calls bridged to the agent: only calls that reach it hold one of its slots.
  const calls = Array.from({ length: count }, (_, index) => ({ ...aCall, lead_id: String(index), connect: 'agent' as const }));

  await ctx.flush();
  const rawFreed: number[] = [];
  const rawDialed: number[] = [];
  let rawLive = 0;
  let rawMostLive = 0;
  const connection = ctx.redis.duplicate();
  const rawWorker = new Worker(
    RAW_QUEUE_NAME,
    async () => {
      rawMostLive = Math.max(rawMostLive, ++rawLive);
      await sleep(CALL_MS);
      rawLive--;
    },
    { connection, prefix: RAW_PREFIX, concurrency: slots },
  );
  rawWorker.on('active', () => rawDialed.push(Date.now()));
  rawWorker.on('completed', () => rawFreed.push(Date.now()));
  await ctx.rawQueue.addBulk(calls.map((data) => ({ name: 'call', data, opts: { priority: PRIORITIES.normal } })));
  await until(() => rawFreed.length >= count, 'raw calls');
  await rawWorker.close();
  connection.disconnect();

  await ctx.flush();
  // Bridged to a number the simulated network answers itself, so the simulated agent's media streams
  // (50 messages a second a call) do not load the machine the refill is measured on.
  const config = ctx.config({ MAX_CONCURRENT_CALLS: String(slots), CALL_WORKER_CONCURRENCY: String(slots), CALL_RATE_MAX: '1000000', CALL_RATE_WINDOW_MS: '1000', SIMULATED_DIAL_LATENCY_MS: '0', SIMULATED_TIME_SCALE: String(TIME_SCALE), AGENT_DIAL_TARGET: '+14155550999' });
  const events = ctx.redis.duplicate();
  const serviceFreed: number[] = [];
  await events.subscribe(`${SERVICE_PREFIX}:capacity:events`);
  events.on('message', () => serviceFreed.push(Date.now()));
  const worker = await startCallWorker(config, createLogger('silent'));
  const serviceDialed: number[] = [];
  let serviceMostLive = 0;
  worker.worker.on('completed', () => {
    serviceDialed.push(Date.now());
    void ctx.redis.zcard(`${SERVICE_PREFIX}:capacity:leases`).then((live) => (serviceMostLive = Math.max(serviceMostLive, live)));
  });
  await ctx.post('/api/queue/schedule-bulk-calls', { calls });
  await until(() => serviceFreed.length >= count, 'service calls to end');
  await worker.close();
  events.disconnect();

  const raw = refills(rawFreed, rawDialed, slots);
  const service = refills(serviceFreed, serviceDialed, slots);
  ctx.report.record({ scenario, metric: 'most live calls at once', raw: rawMostLive, service: serviceMostLive, unit: 'calls', note: `must not exceed ${slots}` }, { lowerIsBetter: true });
  ctx.report.record({ scenario, metric: 'slot freed → next dial, p50', raw: percentile(raw, 50), service: percentile(service, 50), unit: 'ms' }, { lowerIsBetter: true });
  ctx.report.record({ scenario, metric: 'slot freed → next dial, p99', raw: percentile(raw, 99), service: percentile(service, 99), unit: 'ms', note: 'target < 50 ms' }, { lowerIsBetter: true });
}
