import autocannon from 'autocannon';
import { PRIORITIES } from '../../src/jobs/call-jobs.js';
import { aCall, type BenchContext } from '../support/context.js';
import { atFixedRate, concurrently } from '../support/load.js';
import { lineFrom, startNodeProcess } from '../support/processes.js';
import { freePort } from '../../test/helpers/free-port.js';

const schedule = (baseUrl: string, options: Partial<autocannon.Options>) =>
  autocannon({
    url: `${baseUrl}/api/queue/schedule-call`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(aCall),
    ...options,
  });

/** `POST /api/queue/schedule-call` against raw `queue.add`, at the same concurrency and at a fixed rate. */
export async function ingest(ctx: BenchContext) {
  const seconds = ctx.quick ? 1 : 10;
  const rawAdd = () => ctx.rawQueue.add('call', aCall, { priority: PRIORITIES.normal });
  // Both sides warm up first: the first second of a fresh process measures its compiler, not its work.
  await schedule(ctx.api.url, { connections: 10, duration: 1 });
  await concurrently(5_000, 10, rawAdd);
  // What HTTP alone costs here, for reference: the most any HTTP API could do on this machine.
  const emptyRoutePort = await freePort();
  const emptyRoute = startNodeProcess('bench/raw/empty-route.ts', { PORT: String(emptyRoutePort) });
  await lineFrom(emptyRoute, (line) => line === 'ready', 'empty route');
  const emptyRouteUrl = `http://127.0.0.1:${emptyRoutePort}`;
  await schedule(emptyRouteUrl, { connections: 10, duration: 1 });

  for (const connections of [1, 10, 100]) {
    await ctx.flush();
    const service = await schedule(ctx.api.url, { connections, duration: seconds });
    if (service.non2xx > 0 || service.errors > 0) throw new Error(`ingest: ${service.non2xx} non-2xx answers, ${service.errors} errors`);
    await ctx.flush();
    const raw = await concurrently(Math.round(service.requests.average * seconds), connections, rawAdd);
    const floor = await schedule(emptyRouteUrl, { connections, duration: seconds });
    const scenario = `ingest, ${connections} in flight`;
    ctx.report.record({ scenario, metric: 'requests/s', raw: raw.perSecond, service: service.requests.average, unit: '/s', note: `an empty Fastify route: ${Math.round(floor.requests.average)}/s` });
    ctx.report.record({ scenario, metric: 'p99 latency', raw: raw.p99, service: service.latency.p99, unit: 'ms', note: `an empty Fastify route: ${floor.latency.p99} ms` }, { lowerIsBetter: true });
  }
  await emptyRoute.stop();

  const rate = 1_000;
  await ctx.flush();
  // autocannon's fixed rate sends each second's requests in a burst: an even pace needs its own loop.
  const service = await atFixedRate(rate, seconds, () => ctx.post('/api/queue/schedule-call', aCall));
  await ctx.flush();
  const raw = await atFixedRate(rate, seconds, rawAdd);
  const scenario = `ingest at ${rate.toLocaleString('en')} requests/s`;
  ctx.report.record({ scenario, metric: 'p50 latency', raw: raw.p50, service: service.p50, unit: 'ms' }, { lowerIsBetter: true });
  ctx.report.record({ scenario, metric: 'p99 latency', raw: raw.p99, service: service.p99, unit: 'ms', note: 'target < 25 ms' }, { lowerIsBetter: true });
}
