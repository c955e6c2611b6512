import { PRIORITIES } from '../../src/jobs/call-jobs.js';
import { freePort } from '../../test/helpers/free-port.js';
import { aCall, type BenchContext } from '../support/context.js';
import { postJson } from '../support/http.js';
import { percentile } from '../support/report.js';
import { lineFrom, startApiProcess, startNodeProcess } from '../support/processes.js';

const calls = (count: number, first = 0) => Array.from({ length: count }, (_, index) => ({ ...aCall, lead_id: String(first + index) }));
const MiB = 1024 * 1024;

/** One request of 10,000 calls against one raw addBulk; then a campaign sent in chunks. */
export async function bulk(ctx: BenchContext) {
  const batch = calls(10_000);
  const rate = async (add: () => Promise<unknown>) => {
    await ctx.flush();
    const started = performance.now();
    await add();
    return batch.length / ((performance.now() - started) / 1000);
  };
  // One request is over in well under a second: the median of a few, taken in turns, steadies it.
  const service: number[] = [];
  const raw: number[] = [];
  for (let round = 0; round < (ctx.quick ? 3 : 7); round++) {
    service.push(await rate(() => ctx.post('/api/queue/schedule-bulk-calls', { calls: batch })));
    raw.push(await rate(() => ctx.rawQueue.addBulk(batch.map((data) => ({ name: 'call', data, opts: { priority: PRIORITIES.normal } })))));
  }
  ctx.report.record({ scenario: 'bulk, 10,000 calls in one request', metric: 'calls/s', raw: percentile(raw, 50), service: percentile(service, 50), unit: '/s', note: `median of ${raw.length}` });

  await campaign(ctx, ctx.quick ? 20_000 : 100_000);
}

/** A campaign script's way: 100,000 calls (20,000 in quick mode), 1,000 a request, one request after another. */
async function campaign(ctx: BenchContext, total: number) {
  const chunk = 1_000;
  const scenario = `campaign of ${total.toLocaleString('en')} calls, ${chunk.toLocaleString('en')} a request`;

  await ctx.flush();
  const { seconds: serviceSeconds, peakMemoryBytes: servicePeak } = await serviceCampaign(ctx, total, chunk);

  await ctx.flush();
  const raw = startNodeProcess('bench/raw/campaign.ts', {}, [ctx.redisUrl, String(total), String(chunk)]);
  await lineFrom(raw, (line) => line === 'ready', 'raw campaign');
  const result = lineFrom(raw, (line) => line.startsWith('{'), 'raw campaign');
  raw.child.stdin!.write('go\n');
  const { seconds: rawSeconds, peakMemoryBytes: rawPeak } = JSON.parse(await result) as { seconds: number; peakMemoryBytes: number };
  await raw.stop();

  ctx.report.record({ scenario, metric: 'calls/s', raw: total / rawSeconds, service: total / serviceSeconds, unit: '/s' });
  ctx.report.record(
    { scenario, metric: 'peak memory of the process', raw: rawPeak / MiB, service: servicePeak / MiB, unit: 'MiB', note: 'raw: a script adding the same chunks' },
    { lowerIsBetter: true },
  );
}

/** The service's side, through an API of its own, so that its peak memory is the campaign's alone. */
async function serviceCampaign(ctx: BenchContext, total: number, chunk: number) {
  const api = await startApiProcess({ ...ctx.env, PORT: String(await freePort()) });
  try {
    const started = performance.now();
    for (let first = 0; first < total; first += chunk) {
      await postJson(`${api.url}/api/queue/schedule-bulk-calls`, { calls: calls(chunk, first) });
    }
    return { seconds: (performance.now() - started) / 1000, peakMemoryBytes: api.peakMemoryBytes() };
  } finally {
    await api.stop();
  }
}
