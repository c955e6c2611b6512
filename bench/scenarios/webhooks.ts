import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, Worker } from 'bullmq';
import { createCore } from '../../src/core.js';
import { freshEventId } from '../../src/events/call-events.js';
import type { RecordedEvent } from '../../src/events/event-types.js';
import { createSubscriptionStore } from '../../src/events/subscription-store.js';
import { createLogger } from '../../src/logger.js';
import type { BenchContext } from '../support/context.js';
import { atFixedRate, until } from '../support/load.js';
import { lineFrom, startNodeProcess } from '../support/processes.js';
import { percentile } from '../support/report.js';

const RATE = 200;
const RECEIVER_MS = 100;
/** Calls whose events interleave: each gets an event every CALLS / RATE seconds, in its own lane. */
const CALLS = 40;
const TYPES = ['call.scheduled', 'call.dialing', 'call.ringing', 'call.answered', 'call.completed'] as const;

async function usedMemory(ctx: BenchContext): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await ctx.redis.info('memory'))![1]);
}

/** A receiver answering every request after 100 ms; it notes how long each event took from being recorded to arriving. */
async function startSlowReceiver() {
  const lags: number[] = [];
  let first = 0;
  let last = 0;
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const arrived = Date.now();
      const { timestamp } = JSON.parse(body) as { timestamp: string };
      lags.push(arrived - Date.parse(timestamp));
      if (first === 0) first = arrived;
      last = arrived;
      setTimeout(() => response.writeHead(204).end(), RECEIVER_MS);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    lags,
    lastArrival: () => last,
    /** Deliveries a second from the first arrival to the last. */
    arrivalRate: () => (lags.length - 1) / ((last - first) / 1000),
    reset() {
      lags.length = 0;
      first = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const eventFor = (index: number): RecordedEvent => {
  const call = index % CALLS;
  const type = TYPES[Math.floor(index / CALLS) % TYPES.length]!;
  return {
    event: {
      id: freshEventId(),
      type,
      timestamp: new Date().toISOString(),
      data: { jobId: `bench-${call}`, attempt: 1, callSid: null, leadId: null, campaignId: null, contactId: null, to: '+14155550123', from: null, priority: 'normal', connect: 'say', rootJobId: null, redialNumber: 0, metadata: null },
    } as RecordedEvent['event'],
    lane: `call:bench-${Math.floor(index / (CALLS * TYPES.length))}-${call}`,
  };
};

/**
 * Webhook delivery: events recorded at 200 a second for a receiver that takes 100 ms to answer,
 * delivered by one worker process (signed, in order per call, through the outbox); raw: a bare
 * BullMQ worker in this process POSTing the same bodies, unsigned and in no order.
 */
export async function webhooks(ctx: BenchContext) {
  await ctx.flush();
  const seconds = ctx.quick ? 3 : 30;
  const total = RATE * seconds;
  const receiver = await startSlowReceiver();
  const scenario = `${RATE} events/s to a receiver answering in ${RECEIVER_MS} ms`;
  try {
    // Raw: BullMQ jobs, each POSTed by a worker 50 at a time.
    const rawQueue = new Queue('raw-webhooks', { connection: ctx.redis, prefix: 'raw' });
    const rawWorker = new Worker(
      'raw-webhooks',
      async (job) => {
        await fetch(receiver.url, { method: 'POST', body: JSON.stringify(job.data), headers: { 'content-type': 'application/json' } }).then((response) => response.arrayBuffer());
      },
      { connection: ctx.redis.duplicate(), prefix: 'raw', concurrency: 50 },
    );
    let index = 0;
    let started = performance.now();
    await atFixedRate(RATE, seconds, () => rawQueue.add('event', eventFor(index++).event));
    await until(() => receiver.lags.length >= total, 'raw deliveries');
    const rawRate = total / ((receiver.lastArrival() - (Date.now() - (performance.now() - started))) / 1000);
    const rawP99 = percentile(receiver.lags, 99);
    receiver.reset();
    const backlog = ctx.quick ? 1_000 : 6_000;
    await rawWorker.pause();
    await rawQueue.addBulk(Array.from({ length: backlog }, (_, each) => ({ name: 'event', data: eventFor(each).event })));
    started = performance.now();
    rawWorker.resume();
    await until(() => receiver.lags.length >= backlog, 'raw backlog');
    const rawBacklogRate = receiver.arrivalRate();
    await rawWorker.close();
    await rawQueue.obliterate({ force: true });
    await rawQueue.close();
    receiver.reset();

    // The service: a subscription, one worker process delivering, events recorded as the call log records them.
    const store = createSubscriptionStore(ctx.redis, 'switchboard');
    await store.create({ url: receiver.url, eventTypes: null, campaignId: null, description: 'bench' });
    const worker = startNodeProcess('workers/calls/main.ts', { ...ctx.env, LOG_LEVEL: 'info' });
    await lineFrom(worker, (line) => line.includes('webhook delivery started'), 'the worker process');
    worker.child.stdout!.resume();
    const core = createCore(ctx.config(), { redis: ctx.redis, logger: createLogger('silent') });
    try {
      await core.webhooks.subscriptions.ready();
      index = 0;
      const memoryBefore = await usedMemory(ctx);
      const startedAt = Date.now();
      const recording = await atFixedRate(RATE, seconds, () => core.webhooks.events.record([eventFor(index++)]));
      await until(() => receiver.lags.length >= total, 'service deliveries', 180_000);
      const rate = total / ((receiver.lastArrival() - startedAt) / 1000);
      const bytesPerEvent = ((await usedMemory(ctx)) - memoryBefore) / total;
      ctx.report.record({ scenario, metric: 'events delivered', raw: rawRate, service: rate, unit: '/s', note: `target >= ${RATE}/s (ratio against it) from one worker process, 40 calls' events in order; raw: a BullMQ worker POSTing unsigned, in no order` }, { against: RATE });
      ctx.report.record({ scenario, metric: 'recorded to received p99', raw: rawP99, service: percentile(receiver.lags, 99), unit: 'ms', note: `p50 ${Math.round(percentile(receiver.lags, 50))} ms, p90 ${Math.round(percentile(receiver.lags, 90))} ms, p95 ${Math.round(percentile(receiver.lags, 95))} ms; a call's next event waits for the one before it` }, { lowerIsBetter: true });

      // A backlog (a receiver back after an outage): as fast as one worker process drains it, 50 requests at once.
      receiver.reset();
      await worker.stop();
      for (let each = 0; each < backlog; each += 500) await core.webhooks.events.record(Array.from({ length: 500 }, (_, offset) => eventFor(total + each + offset)));
      const drainer = startNodeProcess('workers/calls/main.ts', ctx.env);
      drainer.child.stdout!.resume();
      try {
        await until(() => receiver.lags.length >= backlog, 'service backlog', 180_000);
      } finally {
        await drainer.stop();
      }
      ctx.report.record(
        { scenario: `a backlog of ${backlog.toLocaleString('en')} events, receiver answering in ${RECEIVER_MS} ms`, metric: 'events delivered', raw: rawBacklogRate, service: receiver.arrivalRate(), unit: '/s', note: 'one worker process, 50 requests at once (the ceiling: 500/s), from the first arrival to the last; in order within each call' },
      );
      ctx.report.record({ scenario, metric: 'Redis bytes per event', raw: 0, service: bytesPerEvent, unit: 'B', note: 'kept for replay (EVENTS_RETENTION_MS) with its delivery job (kept an hour once delivered); no ratio' }, { lowerIsBetter: true, against: bytesPerEvent });
      ctx.report.record({ scenario, metric: 'recording an event p99', raw: 0, service: recording.p99, unit: 'ms', note: 'what a change pays to enter the outbox (dedupe, order, queue); no ratio' }, { lowerIsBetter: true, against: recording.p99 });
    } finally {
      await core.close();
      await worker.stop();
    }
  } finally {
    await receiver.close();
  }
}
