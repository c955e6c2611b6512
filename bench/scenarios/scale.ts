import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { callJob, callJobPolicy, workerHeartbeatKey, type CallJobData } from '../../src/jobs/call-jobs.js';
import { jobIds } from '../../src/jobs/job-ids.js';
import { freePort } from '../../test/helpers/free-port.js';
import { aCall, SERVICE_PREFIX, type BenchContext } from '../support/context.js';
import { concurrently, until } from '../support/load.js';
import { startApiProcess, startNodeProcess } from '../support/processes.js';
import { lineChart } from '../support/charts.js';
import { percentile } from '../support/report.js';

const CHUNK = 10_000;
const DAY_MS = 24 * 3600 * 1000;

/** One request, timed; answers its status and parsed body. */
function timed(url: string, method = 'GET', body?: unknown): Promise<{ ms: number; status: number; json: Record<string, unknown> }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ ms: performance.now() - started, status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** An admin request whose answer must be a success. */
async function must(url: string, method: string, body?: unknown) {
  const answer = await timed(url, method, body);
  if (answer.status >= 300) throw new Error(`scale: ${method} ${url} answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  return answer.json;
}

async function timesOf(times: number, operation: () => Promise<{ ms: number; status: number }>) {
  // The first requests to a route compile its code and its schemas: not what holding more calls costs.
  for (let run = 0; run < 5; run += 1) await operation();
  const latencies: number[] = [];
  for (let run = 0; run < times; run += 1) {
    const { ms, status } = await operation();
    if (status >= 400) throw new Error(`scale: an operation answered ${status}`);
    latencies.push(ms);
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const usedMemory = async (ctx: BenchContext) => Number(/used_memory:(\d+)/.exec(await ctx.redis.info('memory'))![1]);
/** A process's resident memory now (VmRSS), in MiB. */
const residentMiB = (pid: number | undefined) => (pid === undefined ? 0 : Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);

/**
 * How the service behaves as it holds more calls: 10,000, 100,000 and (full run) 1,000,000, nine in
 * ten delayed a day ahead and one in ten waiting (the queue paused). For each: Redis bytes a call,
 * p99 of the queue's read and admin operations, the API's resident memory, and how late delayed
 * calls come due while all those are held.
 */
export async function scale(ctx: BenchContext) {
  const sizes = ctx.quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  const port = await freePort();
  const api = await startApiProcess({ ...ctx.env, PORT: String(port), BULK_MAX_CALLS: String(CHUNK) });
  const base = `http://127.0.0.1:${port}`;
  const first: Record<string, number> = {};
  const curve: Array<Record<string, number>> = [];
  try {
    for (const size of sizes) {
      await ctx.flush();
      await must(`${base}/api/queue/pause`, 'POST');
      const before = await usedMemory(ctx);
      const held: string[] = [];
      // One in ten through the API's bulk endpoint (waiting: the queue is paused); the rest as the
      // API makes a delayed call (the same job, options and id), added in bulk since the API takes
      // delayed calls one a request.
      const policy = callJobPolicy(ctx.config());
      await concurrently(Math.ceil(size / CHUNK), 4, async (chunk) => {
        const count = Math.min(CHUNK, size - chunk * CHUNK);
        const number = (offset: number) => `+1415${String(2_000_000 + ((chunk * CHUNK + offset) % 8_000_000)).padStart(7, '0')}`;
        if (chunk % 10 === 9) {
          const answer = await timed(`${base}/api/queue/schedule-bulk-calls`, 'POST', { calls: Array.from({ length: count }, (_, offset) => ({ ...aCall, to: number(offset) })) });
          if (answer.status !== 201) throw new Error(`scale: bulk answered ${answer.status}`);
          return;
        }
        const scheduleAt = new Date(Date.now() + DAY_MS).toISOString();
        const jobs = Array.from({ length: count }, (_, offset) => callJob(policy, { ...aCall, to: number(offset), connect: 'say', scheduleAt } as CallJobData, { jobId: jobIds.newCall(), delay: DAY_MS }));
        await ctx.serviceQueue.addBulk(jobs);
        if (held.length < 2_000) held.push(...jobs.slice(0, 200).map((job) => job.opts.jobId));
      });
      const bytesPerCall = ((await usedMemory(ctx)) - before) / size;
      const delayed = Math.round(size * 0.9);
      const timings = {
        stats: await timesOf(100, () => timed(`${base}/api/queue/stats`)),
        firstPage: await timesOf(100, () => timed(`${base}/api/queue/delayed?start=0&end=49`)),
        deepPage: await timesOf(50, () => timed(`${base}/api/queue/delayed?start=${delayed - 1_000}&end=${delayed - 951}`)),
        job: await timesOf(100, () => timed(`${base}/api/queue/job/${held[Math.floor(Math.random() * held.length)]}`)),
        // Looks at the 1,000 delayed calls due first and removes none (all are younger than an hour).
        clean: await timesOf(20, () => timed(`${base}/api/queue/clean`, 'POST', { grace: 3_600_000, limit: 1_000, status: 'delayed' })),
      };
      const ops = Object.fromEntries(Object.entries(timings).map(([name, { p99 }]) => [name, p99]));
      const medians = Object.fromEntries(Object.entries(timings).map(([name, { p50 }]) => [`${name}P50`, p50]));
      const scenario = `holding ${size.toLocaleString('en')} calls`;
      const grows = (name: string, value: number) => {
        first[name] ??= value;
        return `${(value / Math.max(first[name]!, 0.01)).toFixed(1)} × at 10,000`;
      };
      ctx.report.record({ scenario, metric: 'Redis bytes a call', raw: 0, service: bytesPerCall, unit: 'B', note: `9 in 10 delayed, 1 in 10 waiting; ${grows('bytes', bytesPerCall)}; no ratio` }, { lowerIsBetter: true, against: bytesPerCall });
      for (const [name, value] of Object.entries(ops)) {
        ctx.report.record({ scenario, metric: `${name} p99`, raw: 0, service: value, unit: 'ms', note: `p50 ${medians[`${name}P50`]!.toFixed(1)} ms; ${grows(name, value)}; no ratio` }, { lowerIsBetter: true, against: value });
      }
      ctx.report.record({ scenario, metric: "API's resident memory", raw: 0, service: residentMiB(api.child.pid), unit: 'MiB', note: 'after the operations; no ratio' }, { lowerIsBetter: true, against: residentMiB(api.child.pid) });

      const point: Record<string, number> = { size, bytesPerCall, ...ops, ...medians, apiMiB: residentMiB(api.child.pid) };
      curve.push(point);

      // Delayed calls coming due while all those are held (the waiting ones removed, so the worker has nothing else to do).
      for (;;) {
        const { total } = (await must(`${base}/api/queue/clean`, 'POST', { grace: 0, limit: 100_000, status: 'waiting' })) as { total: number };
        if (total < 100_000) break;
      }
      if ((await ctx.serviceQueue.getWaitingCount()) !== 0) throw new Error('scale: waiting calls were left after cleaning');
      await must(`${base}/api/queue/resume`, 'POST');
      const worker = startNodeProcess('workers/calls/main.ts', { ...ctx.env, CALL_RATE_MAX: '100000', CALL_RATE_WINDOW_MS: '1000', SIMULATED_DIAL_LATENCY_MS: '0', CALL_WORKER_CONCURRENCY: '50', SIMULATED_CALLBACK_URL: base });
      worker.child.stdout!.resume();
      try {
        // Measured from a running worker: its start is not the lateness of a held queue.
        await until(async () => (await ctx.redis.zcard(workerHeartbeatKey(SERVICE_PREFIX))) >= 1, 'the worker process');
        const dueIds: string[] = [];
        const dueFrom = Date.now() + (ctx.quick ? 1_500 : 3_000);
        await concurrently(200, 8, async (index) => {
          const answer = await timed(`${base}/api/queue/schedule-delayed-call`, 'POST', { ...aCall, to: `+1628${String(5_000_000 + index)}`, scheduleAt: new Date(dueFrom + index * 10).toISOString() });
          if (answer.status !== 201) throw new Error(`scale: a delayed call answered ${answer.status}`);
          dueIds.push(answer.json.jobId as string);
        });
        await until(async () => (await Promise.all(dueIds.map((id) => ctx.serviceQueue.getJob(id)))).every((job) => job?.processedOn), 'due calls dialed', 60_000, 200);
        const dueJobs = await Promise.all(dueIds.map((id) => ctx.serviceQueue.getJob(id)));
        // BullMQ clears `delay` once a job is promoted: its due time is its creation plus the delay it was added with.
        const lateness = dueJobs.map((job) => job!.processedOn! - (job!.timestamp + (job!.opts.delay ?? 0)));
        point.lateness = percentile(lateness, 99);
        point.latenessP50 = percentile(lateness, 50);
        point.workerMiB = residentMiB(worker.child.pid);
        ctx.report.record({ scenario, metric: 'delayed calls late, p99', raw: 0, service: point.lateness, unit: 'ms', note: `200 calls due over 2 s while the rest are held; ${grows('lateness', point.lateness)}; no ratio` }, { lowerIsBetter: true, against: point.lateness });
        ctx.report.record({ scenario, metric: "worker's resident memory", raw: 0, service: point.workerMiB, unit: 'MiB', note: 'no ratio' }, { lowerIsBetter: true, against: point.workerMiB });
      } finally {
        await worker.stop();
      }
    }
  } finally {
    await api.stop();
  }
  reportCurve(ctx, curve);
}

const ms = (p50: number | undefined, p99: number | undefined) => (p99 === undefined ? '' : `${p50!.toFixed(1)} / ${p99.toFixed(1)} ms`);

function reportCurve(ctx: BenchContext, curve: ReadonlyArray<Record<string, number>>) {
  const operations = [
    ['stats', '`GET /api/queue/stats`', 'stats'],
    ['firstPage', 'first page of `/delayed`', 'first page'],
    ['deepPage', 'a page 1,000 from the end of `/delayed`', 'deep page'],
    ['job', '`GET /api/queue/job/:id`', 'one job'],
    ['clean', '`POST /api/queue/clean` (1,000 examined)', 'clean'],
    ['lateness', 'delayed calls late', 'due calls late'],
  ] as const;
  ctx.report.section({
    title: 'Scale curve',
    intro:
      'The service holding 10,000, 100,000 and 1,000,000 calls (nine in ten delayed a day ahead, one in ten waiting with the queue paused) on one Redis: ' +
      'Redis bytes a call, p50 and p99 of each operation (100 requests each, after 5 to warm up; 50 of the deep page, 20 of clean), and of how late 200 calls due over two seconds are dialed by one worker process while the rest are held. The chart draws the p99s.',
    header: ['Calls held', 'Redis B a call', ...operations.map(([, label]) => `${label} p50 / p99`), 'API RSS', 'worker RSS'],
    rows: curve.map((point) => [
      point.size!.toLocaleString('en'),
      Math.round(point.bytesPerCall!).toLocaleString('en'),
      ...operations.map(([name]) => ms(point[`${name}P50`], point[name])),
      `${Math.round(point.apiMiB!)} MiB`,
      point.workerMiB === undefined ? '' : `${Math.round(point.workerMiB)} MiB`,
    ]),
    chart: {
      file: 'bench-scale.svg',
      svg: lineChart({
        title: 'p99 as the calls held grow',
        xLabel: 'calls held (log scale)',
        yLabel: 'p99, ms',
        xs: curve.map((point) => point.size!),
        series: operations.map(([name, , legend]) => ({ name: legend, values: curve.map((point) => point[name] ?? 0) })),
      }),
    },
  });
}
