import autocannon from 'autocannon';
import { PRIORITIES } from '../../src/jobs/call-jobs.js';
import { aCall, type BenchContext } from '../support/context.js';
import { atFixedRate, concurrently } from '../support/load.js';

const schedule = (ctx: BenchContext, options: Partial<autocannon.Options>) =>
  autocannon({
    url: `${ctx.api.url}/api/queue/schedule-call`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(aCall),
    ...options,
  });

/** `POST /api/queue/schedule-call` against raw `queue.add`, at the same concurrency and at a fixed rate. */
export async function ingest(ctx: BenchContext) {
  const seconds = ctx.quick ? 3 : 10;
  const rawAdd = () => ctx.rawQueue.add('call', aCall, { priority: PRIORITIES.normal });
  // Both sides warm up first: the first second of a fresh process measures its compiler, not its work.
  await schedule(ctx, { connections: 10, duration: 1 });
  await concurrently(5_000, 10, rawAdd);

  for (const connections of [1, 10, 100]) {
    await ctx.flush();
    const service = await schedule(ctx, { connections, duration: seconds });
    if (service.non2xx > 0 || service.errors > 0) throw new Error(`ingest: ${service.non2xx} non-2xx answers, ${service.errors} errors`);
    await ctx.flush();
    const raw = await concurrently(Math.round(service.requests.average * seconds), connections, rawAdd);
    const scenario = `ingest, ${connections} in flight`;
    ctx.report.record({ scenario, metric: 'requests/s', raw: raw.perSecond, service: service.requests.average, unit: '/s' });
    ctx.report.record({ scenario, metric: 'p99 latency', raw: raw.p99, service: service.latency.p99, unit: 'ms' }, { lowerIsBetter: true });
  }

  const rate = 1_000;
  await ctx.flush();
  // autocannon's fixed rate sends each second's requests in a burst: an even pace needs its own loop.
  const service = await atFixedRate(rate, seconds, async () => {
    const response = await ctx.post('/api/queue/schedule-call', aCall);
    if (response.status !== 201) throw new Error(`ingest: answered ${response.status}`);
    await response.arrayBuffer();
  });
  await ctx.flush();
  const raw = await atFixedRate(rate, seconds, rawAdd);
  const scenario = `ingest at ${rate.toLocaleString('en')} requests/s`;
  ctx.report.record({ scenario, metric: 'p50 latency', raw: raw.p50, service: service.p50, unit: 'ms' }, { lowerIsBetter: true });
  ctx.report.record({ scenario, metric: 'p99 latency', raw: raw.p99, service: service.p99, unit: 'ms', note: 'target < 25 ms' }, { lowerIsBetter: true });
}
