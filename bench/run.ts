/**
 * `npm run bench` (`-- --quick` for a short run): the service beside raw BullMQ, in one run, on one
 * private Redis. Writes bench/results/latest.json and BENCHMARKS.md.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedisServer } from '../src/adapters/redis-server.js';
import { loadConfig } from '../src/config.js';
import { CALL_QUEUE_NAME } from '../src/jobs/call-jobs.js';
import { createLogger } from '../src/logger.js';
import { startCallWorker } from '../workers/calls/call-worker.js';
import { freePort } from '../test/helpers/free-port.js';

const quick = process.argv.includes('--quick');
const seconds = quick ? 3 : 10;
const call = { to: '+14155550123', message: 'Hello from Switchboard', priority: 'normal' as const };

interface Row {
  scenario: string;
  metric: string;
  raw: number;
  service: number;
  /** service / raw, or raw / service where lower is better. */
  ratio: number;
  unit: string;
  note?: string;
}
const rows: Row[] = [];
const record = (row: Omit<Row, 'ratio'>, lowerIsBetter = false) => {
  const ratio = lowerIsBetter ? row.raw / Math.max(row.service, 1e-9) : row.service / Math.max(row.raw, 1e-9);
  rows.push({ ...row, ratio: Math.round(ratio * 100) / 100 });
  console.log(`${row.scenario.padEnd(34)} ${row.metric.padEnd(22)} raw ${fmt(row.raw).padStart(10)}  service ${fmt(row.service).padStart(10)} ${row.unit}`);
};
const fmt = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2));
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

async function startApi(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let waited = 0; ; waited += 100) {
    if (child.exitCode !== null) throw new Error(`API exited with ${child.exitCode}`);
    if (await fetch(`http://127.0.0.1:${env.PORT}/health`).then((response) => response.ok, () => false)) break;
    if (waited > 20_000) throw new Error('API did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))) };
}

/** `count` operations, `concurrency` at a time; returns ops/s and latencies (ms). */
async function concurrently(count: number, concurrency: number, operation: () => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const t = performance.now();
        await operation();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { perSecond: count / ((performance.now() - started) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const redisServer = await startRedisServer({ port: await freePort(), dir, persist: false });
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const port = await freePort();
  const prefix = 'bench';
  const baseEnv = { REDIS_URL: redisServer.url, PORT: String(port), QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', API_RATE_LIMIT_MAX: '100000000' };
  const api = await startApi(baseEnv);
  const url = `http://127.0.0.1:${port}`;
  const rawQueue = new Queue('raw', { connection: redis, prefix: 'raw' });
  const serviceQueue = new Queue(CALL_QUEUE_NAME, { connection: redis, prefix });
  const flush = () => redis.flushall();

  try {
    // Ingest: the API's schedule-call against raw queue.add, at the same concurrency.
    for (const connections of [1, 10, 100]) {
      await flush();
      const result = await autocannon({
        url: `${url}/api/queue/schedule-call`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(call),
        connections,
        duration: seconds,
      });
      await flush();
      const raw = await concurrently(Math.max(2000, Math.round(result.requests.average * seconds)), connections, () => rawQueue.add('call', call, { priority: 2 }));
      record({ scenario: `ingest, ${connections} in flight`, metric: 'requests/s', raw: raw.perSecond, service: result.requests.average, unit: '/s' });
      record({ scenario: `ingest, ${connections} in flight`, metric: 'p99 latency', raw: raw.p99, service: result.latency.p99, unit: 'ms' }, true);
    }

    // Bulk: one request of 10,000 calls against one raw addBulk of the same jobs.
    await flush();
    const calls = Array.from({ length: 10_000 }, (_, index) => ({ ...call, lead_id: String(index) }));
    let started = performance.now();
    const response = await fetch(`${url}/api/queue/schedule-bulk-calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ calls }) });
    if (response.status !== 201) throw new Error(`bulk answered ${response.status}`);
    const serviceBulk = 10_000 / ((performance.now() - started) / 1000);
    await flush();
    started = performance.now();
    await rawQueue.addBulk(calls.map((data) => ({ name: 'call', data, opts: { priority: 2 } })));
    const rawBulk = 10_000 / ((performance.now() - started) / 1000);
    record({ scenario: 'bulk, 10,000 calls in one request', metric: 'calls/s', raw: rawBulk, service: serviceBulk, unit: '/s' });

    // Footprint: Redis bytes per queued call.
    const footprint = async (fill: () => Promise<unknown>) => {
      await flush();
      const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
      await fill();
      const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
      return (after - before) / 10_000;
    };
    const rawBytes = await footprint(() => rawQueue.addBulk(calls.map((data) => ({ name: 'call', data, opts: { priority: 2 } }))));
    const serviceBytes = await footprint(() => fetch(`${url}/api/queue/schedule-bulk-calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ calls }) }));
    record({ scenario: 'footprint of a queued call', metric: 'Redis bytes', raw: rawBytes, service: serviceBytes, unit: 'B' }, true);

    // Dialing pace: a backlog against a limit of 50 per second; achieved rate and the busiest rolling second.
    const limit = 50;
    const pace = async (starts: number[]) => {
      const sorted = [...starts].sort((a, b) => a - b);
      const busiest = Math.max(...sorted.map((from) => sorted.filter((t) => t >= from && t < from + 1000).length));
      const rate = (sorted.length - 1) / ((sorted.at(-1)! - sorted[0]!) / 1000);
      return { busiest, rate };
    };
    const backlog = quick ? 200 : 500;
    await flush();
    await rawQueue.addBulk(Array.from({ length: backlog }, () => ({ name: 'call', data: call, opts: { priority: 2 } })));
    const rawStarts: number[] = [];
    const rawConnection = redis.duplicate();
    const rawWorker = new Worker('raw', async () => void rawStarts.push(Date.now()), { connection: rawConnection, prefix: 'raw', concurrency: 10, limiter: { max: limit, duration: 1000 } });
    while (rawStarts.length < backlog) await new Promise((resolve) => setTimeout(resolve, 100));
    await rawWorker.close();
    rawConnection.disconnect();
    const rawPace = await pace(rawStarts);

    await flush();
    const config = loadConfig({ ...baseEnv, CALL_RATE_MAX: String(limit), CALL_RATE_WINDOW_MS: '1000', CALL_WORKER_CONCURRENCY: '10', SIMULATED_DIAL_LATENCY_MS: '0', MAX_CONCURRENT_CALLS: '100000', SIMULATED_TIME_SCALE: '0.001' });
    await serviceQueue.pause();
    await fetch(`${url}/api/queue/schedule-bulk-calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ calls: calls.slice(0, backlog) }) });
    const serviceWorker = await startCallWorker(config, createLogger('silent'));
    const serviceStarts: number[] = [];
    serviceWorker.worker.on('active', () => serviceStarts.push(Date.now()));
    await serviceQueue.resume();
    while (serviceStarts.length < backlog) await new Promise((resolve) => setTimeout(resolve, 100));
    await serviceWorker.close();
    const servicePace = await pace(serviceStarts);
    record({ scenario: `dialing at a limit of ${limit}/s`, metric: 'achieved rate', raw: rawPace.rate, service: servicePace.rate, unit: '/s', note: `limit ${limit}/s` });
    record({ scenario: `dialing at a limit of ${limit}/s`, metric: 'busiest rolling second', raw: rawPace.busiest, service: servicePace.busiest, unit: 'calls', note: `must not exceed ${limit}` }, true);

    // Delayed accuracy: calls due spread over a few seconds, and all due at one instant (no rate limit):
    // how late each starts, against raw BullMQ's delayed jobs on the same Redis.
    const dueCount = quick ? 500 : 2000;
    const spreadMs = quick ? 5000 : 10_000;
    type Finished = { timestamp: number; opts: { delay?: number }; processedOn?: number };
    // `opts.delay`: BullMQ clears the job's own `delay` once it is due.
    const lateness = (jobs: Finished[]) => jobs.map((job) => (job.processedOn ?? 0) - (job.timestamp + (job.opts.delay ?? 0)));
    for (const [label, offset] of [['spread', (index: number) => 1000 + (index * spreadMs) / dueCount], ['at one instant', () => 2000]] as const) {
      await flush();
      const rawDone: Finished[] = [];
      const rawConnectionDelayed = redis.duplicate();
      const rawDelayedWorker = new Worker('raw', async () => undefined, { connection: rawConnectionDelayed, prefix: 'raw', concurrency: 50 });
      rawDelayedWorker.on('completed', (job) => rawDone.push(job));
      await rawQueue.addBulk(Array.from({ length: dueCount }, (_, index) => ({ name: 'call', data: call, opts: { delay: offset(index), priority: 2 } })));
      while (rawDone.length < dueCount) await new Promise((resolve) => setTimeout(resolve, 100));
      await rawDelayedWorker.close();
      rawConnectionDelayed.disconnect();

      await flush();
      const delayedConfig = loadConfig({ ...baseEnv, CALL_RATE_MAX: '1000000', CALL_RATE_WINDOW_MS: '1000', CALL_WORKER_CONCURRENCY: '50', SIMULATED_DIAL_LATENCY_MS: '0', MAX_CONCURRENT_CALLS: '100000', SIMULATED_TIME_SCALE: '0.001' });
      const delayedWorker = await startCallWorker(delayedConfig, createLogger('silent'));
      const serviceDone: Finished[] = [];
      delayedWorker.worker.on('completed', (job) => serviceDone.push(job));
      let issued = 0;
      await concurrently(dueCount, 20, () =>
        fetch(`${url}/api/queue/schedule-delayed-call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...call, delayMs: Math.round(offset(issued++)) }) }),
      );
      while (serviceDone.length < dueCount) await new Promise((resolve) => setTimeout(resolve, 100));
      await delayedWorker.close();
      const rawLate = lateness(rawDone);
      const serviceLate = lateness(serviceDone);
      record({ scenario: `${dueCount} delayed calls, ${label}`, metric: 'lateness p99', raw: percentile(rawLate, 99), service: percentile(serviceLate, 99), unit: 'ms' }, true);
      record({ scenario: `${dueCount} delayed calls, ${label}`, metric: 'lateness max', raw: Math.max(...rawLate), service: Math.max(...serviceLate), unit: 'ms' }, true);
    }
  } finally {
    await api.stop();
    await rawQueue.close();
    await serviceQueue.close();
    redis.disconnect();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, bullmq: (await import('bullmq/package.json', { with: { type: 'json' } })).default.version };
  const result = { date: new Date().toISOString(), quick, machine, rows };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync('BENCHMARKS.md', markdown(result));
  console.log('wrote bench/results/latest.json and BENCHMARKS.md');
}

function markdown(result: { date: string; quick: boolean; machine: Record<string, unknown>; rows: Row[] }) {
  const lines = [
    '# Benchmarks',
    '',
    `Measured ${result.date}${result.quick ? ' (quick mode)' : ''} on ${result.machine.cpus} × ${result.machine.cpu}, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}, BullMQ ${result.machine.bullmq}: the service and raw BullMQ in one run, on one private Redis. Reproduce with \`npm run bench\` (\`npm run bench -- --quick\` for a short run).`,
    '',
    'The ratio is service ÷ raw for rates, and raw ÷ service for latencies, bytes and the busiest second (1.0 = as good as raw BullMQ).',
    '',
    '| Scenario | Metric | Raw BullMQ | Service | Ratio | Note |',
    '| --- | --- | ---: | ---: | ---: | --- |',
    ...result.rows.map((row) => `| ${row.scenario} | ${row.metric} | ${fmt(row.raw)} ${row.unit} | ${fmt(row.service)} ${row.unit} | ${row.ratio} | ${row.note ?? ''} |`),
    '',
  ];
  return lines.join('\n');
}

await main();
// Everything started is stopped; a reconnecting client must not keep the process alive.
process.exit(0);
