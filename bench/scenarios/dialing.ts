import { Worker } from 'bullmq';
import { PRIORITIES, workerHeartbeatKey } from '../../src/jobs/call-jobs.js';
import { createCarrier } from '../../src/carriers/create-carrier.js';
import type { Carrier } from '../../src/carriers/carrier.js';
import { createLogger } from '../../src/logger.js';
import { startCallWorker } from '../../workers/calls/call-worker.js';
import { aCall, RAW_PREFIX, RAW_QUEUE_NAME, SERVICE_PREFIX, type BenchContext } from '../support/context.js';
import { until } from '../support/load.js';
import { lineFrom, startNodeProcess, type NodeProcess } from '../support/processes.js';
import { startTwilioLatencyStandIn } from '../support/twilio-latency-stand-in.js';
import { rawDial, twilioEnv } from '../raw/dial.js';

const calls = (count: number) => Array.from({ length: count }, (_, index) => ({ ...aCall, lead_id: String(index) }));
const rawJobs = (count: number) => calls(count).map((data) => ({ name: 'call', data, opts: { priority: PRIORITIES.normal } }));

/** Calls per second between the first and the last start, and the most starts in any rolling window. */
function pace(starts: readonly number[], windowMs: number) {
  const sorted = [...starts].sort((a, b) => a - b);
  let busiest = 0;
  for (let first = 0, last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= windowMs) first++;
    busiest = Math.max(busiest, last - first + 1);
  }
  return { rate: ((sorted.length - 1) * 1000) / (sorted.at(-1)! - sorted[0]!), busiest };
}

async function startStandInProcess() {
  const standIn = startNodeProcess('bench/raw/twilio-stand-in.ts', { LATENCY_MS: '0' });
  const url = await lineFrom(standIn, (line) => line.startsWith('http://'), 'Twilio stand-in');
  return {
    url,
    arrivals: async () => (await (await fetch(`${url}/arrivals`)).json()) as number[],
    stop: () => standIn.stop(),
  };
}

/** The dialer, noting when each request is handed to the Twilio SDK: the dials as this process sends them. */
function noteSends(dialer: Carrier, sends: number[]): Carrier {
  return Object.assign(Object.create(dialer) as Carrier, {
    placeCall: (request: Parameters<Carrier['placeCall']>[0]) => {
      sends.push(performance.timeOrigin + performance.now());
      return dialer.placeCall(request);
    },
  });
}

/** With a backlog and a rate limit: the achieved rate, and the busiest rolling second. */
export async function dialing(ctx: BenchContext) {
  const limit = 50;
  const backlog = ctx.quick ? 100 : 1_000;
  const scenario = `dialing a backlog at a limit of ${limit}/s`;

  // Counted where it matters: dials arriving at a Twilio stand-in, in a process of its own.
  await ctx.flush();
  await ctx.rawQueue.addBulk(rawJobs(backlog));
  let twilio = await startStandInProcess();
  const connection = ctx.redis.duplicate();
  const rawWorker = new Worker(RAW_QUEUE_NAME, rawDial(twilio.url), { connection, prefix: RAW_PREFIX, concurrency: 10, limiter: { max: limit, duration: 1000 } });
  await until(async () => (await twilio.arrivals()).length >= backlog, 'raw calls', 120_000, 250);
  await rawWorker.close();
  connection.disconnect();
  const raw = pace(await twilio.arrivals(), 1000);
  await twilio.stop();

  await ctx.flush();
  await ctx.serviceQueue.pause();
  await ctx.post('/api/queue/schedule-bulk-calls', { calls: calls(backlog) });
  twilio = await startStandInProcess();
  const config = ctx.config({ ...twilioEnv(twilio.url, ctx.api.url), CALL_RATE_MAX: String(limit), CALL_RATE_WINDOW_MS: '1000', CALL_WORKER_CONCURRENCY: '10', MAX_CONCURRENT_CALLS: '1000000' });
  const sends: number[] = [];
  const worker = await startCallWorker(config, createLogger('silent'), noteSends(createCarrier(config, createLogger('silent')), sends));
  await ctx.serviceQueue.resume();
  await until(async () => (await twilio.arrivals()).length >= backlog, 'service calls', 120_000, 250);
  await worker.close();
  const service = pace(await twilio.arrivals(), 1000);
  await twilio.stop();
  // Against the limit, not raw BullMQ: raw bursts past it.
  ctx.report.record({ scenario, metric: 'achieved rate', raw: raw.rate, service: service.rate, unit: '/s', note: `ratio: service ÷ the limit; target ≥ 0.98` }, { against: limit });
  const sent = pace(sends, 1000);
  ctx.report.record({ scenario, metric: 'busiest rolling second sent', raw: raw.busiest, service: sent.busiest, unit: 'calls', note: `as the worker hands dials to the Twilio SDK; raw: at the carrier; must not exceed ${limit}` }, { lowerIsBetter: true, against: limit });
  ctx.report.record({ scenario, metric: 'busiest rolling second at the carrier', raw: raw.busiest, service: service.busiest, unit: 'calls', note: `arrival times at the stand-in, with the way there's jitter; ratio: the limit ÷ service` }, { lowerIsBetter: true, against: limit });

  await throughTwilio(ctx);
}

/** Against a Twilio stand-in that answers in 200 ms: calls/s for 1, 2 and 4 worker processes of 10 calls each. */
async function throughTwilio(ctx: BenchContext) {
  const latencyMs = 200;
  const concurrency = 10;
  for (const processes of ctx.quick ? [2] : [1, 2, 4]) {
    // About two seconds of work in quick mode, ten otherwise.
    const count = Math.round(((processes * concurrency * 1000) / latencyMs) * (ctx.quick ? 2 : 10));
    const scenario = `dialing through Twilio at ${latencyMs} ms, ${processes} worker process${processes > 1 ? 'es' : ''}`;

    const run = async (queue: { pause(): Promise<void>; resume(): Promise<void> }, fill: () => Promise<unknown>, start: (twilioUrl: string) => Promise<NodeProcess[]>) => {
      const twilio = await startTwilioLatencyStandIn(latencyMs);
      await ctx.flush();
      await queue.pause();
      await fill();
      const workers = await start(twilio.url);
      try {
        await queue.resume();
        await until(() => twilio.arrivals.length >= count, `${count} calls at the stand-in`);
        return pace(twilio.arrivals, 1000).rate;
      } finally {
        await Promise.all(workers.map((worker) => worker.stop()));
        await twilio.close();
      }
    };

    const raw = await run(ctx.rawQueue, () => ctx.rawQueue.addBulk(rawJobs(count)), async (twilioUrl) =>
      Promise.all(
        Array.from({ length: processes }, async () => {
          const worker = startNodeProcess('bench/raw/dial-worker.ts', { REDIS_URL: ctx.redisUrl, TWILIO_API_BASE_URL: twilioUrl, CONCURRENCY: String(concurrency) });
          await lineFrom(worker, (line) => line === 'ready', 'raw dial worker');
          return worker;
        }),
      ),
    );
    const service = await run(ctx.serviceQueue, () => ctx.post('/api/queue/schedule-bulk-calls', { calls: calls(count) }), async (twilioUrl) => {
      const workers = Array.from({ length: processes }, () => {
        const worker = startNodeProcess('workers/calls/main.ts', {
          ...ctx.env,
          ...twilioEnv(twilioUrl, ctx.api.url),
          CALL_WORKER_CONCURRENCY: String(concurrency),
          CALL_RATE_MAX: '1000000',
          CALL_RATE_WINDOW_MS: '1000',
          MAX_CONCURRENT_CALLS: '1000000',
        });
        worker.child.stdout!.resume();
        return worker;
      });
      await until(async () => (await ctx.redis.zcard(workerHeartbeatKey(SERVICE_PREFIX))) >= processes, 'service worker processes');
      return workers;
    });
    ctx.report.record({ scenario, metric: 'calls/s', raw, service, unit: '/s', note: `${concurrency} calls at once a process` });
  }
}
