import { Redis } from 'ioredis';
import { afterEach, describe, expect } from 'vitest';
import { until } from './helpers/callbacks.js';
import { it, test, type StartService } from './helpers/fixtures.js';
import type { Service } from './helpers/harness.js';
import { spawnEntry, type SpawnedProcess } from './helpers/spawn-process.js';
import type { TwilioStandIn } from './helpers/twilio-stand-in.js';

let twilio: TwilioStandIn;
let startTwilioService: StartService;
let service: Service;
const processes: SpawnedProcess[] = [];
test.beforeEach(({ twilio: standIn, startTwilioService: startWithStandIn }) => {
  twilio = standIn;
  startTwilioService = startWithStandIn;
});
afterEach(async () => {
  for (const process of processes.splice(0)) {
    process.kill('SIGKILL');
    await process.exited;
  }
});

describe('a worker killed with SIGKILL in the middle of a burst', () => {
  test.override({ twilioOptions: { createLatencyMs: 100 } });

  it('leaves no job lost and no number dialed twice for one job', async () => {
    const env = {
      CALL_LOCK_DURATION_MS: '2000',
      CALL_WORKER_CONCURRENCY: '20',
      CALL_RATE_MAX: '1000',
      CALL_RATE_WINDOW_MS: '1000',
      STATUS_POLL_INTERVAL_MS: '600000',
      LOG_LEVEL: 'warn',
    };
    service = await startTwilioService(env);
    const numbers = Array.from({ length: 200 }, (_, index) => `+1415555${1000 + index}`);
    const response = await service.app.inject({
      method: 'POST',
      url: '/api/queue/schedule-bulk-calls',
      payload: { calls: numbers.map((to) => ({ to, message: 'Burst' })) },
    });
    const jobIds = response.json().jobIds as string[];

    const first = spawnEntry('workers/calls/main.ts', service.env);
    processes.push(first);
    await until(async () => twilio.creates.length, (count) => count >= 60, 30_000);
    first.kill('SIGKILL');
    await first.exited;
    const dialedBeforeKill = twilio.creates.length;

    const second = spawnEntry('workers/calls/main.ts', { ...service.env, LOG_LEVEL: 'info' });
    processes.push(second);
    await until(() => service.queue.getCompletedCount(), (count) => count === 200, 60_000);

    expect(dialedBeforeKill).toBeLessThan(200);
    // The kill caught calls mid-dial: the second worker found them at Twilio instead of dialing again.
    const recovered = second.lines.filter((line) => line.includes('"outcome":"recovered"') || line.includes('"outcome":"already-placed"'));
    expect(recovered.length).toBeGreaterThan(0);
    expect(await service.queue.getJobCounts('failed', 'active', 'waiting', 'prioritized', 'delayed')).toEqual({
      failed: 0,
      active: 0,
      waiting: 0,
      prioritized: 0,
      delayed: 0,
    });
    for (const to of numbers) expect(twilio.createsTo(to), to).toHaveLength(1);
    const sidByNumber = new Map([...twilio.calls.values()].map((call) => [call.to, call.sid]));
    const jobs = await Promise.all(jobIds.map((jobId) => service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })));
    for (const [index, job] of jobs.entries()) expect(job.json().callSid).toBe(sidByNumber.get(numbers[index]!));
    expect(twilio.violations).toEqual([]);
  }, 120_000);
});

describe('a worker killed with SIGKILL while it dials one call', () => {
  const lockMs = 3_000;
  // Long enough for the kill to land while the request is on its way, so the call exists at Twilio.
  test.override({ twilioOptions: { createLatencyMs: 300 } });

  it('has its call taken over by another worker within one and a half CALL_LOCK_DURATION_MS, dialed once', async () => {
    service = await startTwilioService({ CALL_LOCK_DURATION_MS: String(lockMs), STATUS_POLL_INTERVAL_MS: '600000', LOG_LEVEL: 'warn' });
    const first = spawnEntry('workers/calls/main.ts', { ...service.env, LOG_LEVEL: 'info' });
    processes.push(first);
    await first.waitForLog(/call worker started/);

    // The worst moment to die: just after this worker's check for stalled jobs, so the next check
    // by anyone is as far away as it can be.
    const redis = new Redis(service.config.redisUrl);
    const stalledCheck = (service.queue.keys as Record<string, string>)['stalled-check']!;
    try {
      const previous = await redis.get(stalledCheck);
      await until(() => redis.get(stalledCheck), (checkedAt) => checkedAt !== null && checkedAt !== previous, lockMs * 2);
    } finally {
      redis.disconnect();
    }
    const to = '+14155550142';
    const scheduled = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: { to, message: 'Taken over' } });
    const { jobId } = scheduled.json() as { jobId: string };
    await until(async () => twilio.createsTo(to).length, (count) => count === 1, 10_000);
    first.kill('SIGKILL');
    const killedAt = performance.now();
    await first.exited;

    // Another worker, started as a supervisor would restart one.
    const second = await service.startWorker();
    const job = await until(() => service.queue.getJob(jobId), (found) => found?.finishedOn !== undefined, lockMs * 4);
    const takeoverMs = performance.now() - killedAt;

    expect(job?.returnvalue.callSid).toBe([...twilio.calls.values()].find((call) => call.to === to)?.sid);
    // The lock's last renewal runs out at most one lock duration after the crash; a check follows
    // within a tenth of it.
    expect(takeoverMs).toBeLessThan(lockMs * 1.5);
    expect(twilio.createsTo(to)).toHaveLength(1);
    expect(second.isRunning()).toBe(true);
  }, 60_000);
});

describe('a worker killed with SIGKILL while Twilio holds its call queued', () => {
  const lockMs = 3_000;
  // Twilio holds calls over the account's calls per second queued, with no start_time, for up to a
  // day: here far longer than the takeover. The create's latency lets the kill land before its answer.
  test.override({ twilioOptions: { createLatencyMs: 300, queuedForMs: 60_000 } });

  it('has its queued call found by the worker that takes the job over, and dialed once', async () => {
    service = await startTwilioService({ CALL_LOCK_DURATION_MS: String(lockMs), STATUS_POLL_INTERVAL_MS: '600000', LOG_LEVEL: 'warn' });
    const first = spawnEntry('workers/calls/main.ts', { ...service.env, LOG_LEVEL: 'info' });
    processes.push(first);
    await first.waitForLog(/call worker started/);

    const to = '+14155550143';
    const scheduled = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: { to, message: 'Held queued' } });
    const { jobId } = scheduled.json() as { jobId: string };
    await until(async () => twilio.createsTo(to).length, (count) => count === 1, 10_000);
    first.kill('SIGKILL');
    await first.exited;
    const created = await until(
      async () => [...twilio.calls.values()].find((call) => call.to === to),
      (call) => call !== undefined,
    );
    // The answer never reached the killed worker: the job knows it dialed, not which call it made.
    expect((await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json().callSid).toBeNull();

    await service.startWorker();
    const job = await until(() => service.queue.getJob(jobId), (found) => found?.finishedOn !== undefined, lockMs * 4);

    expect(job?.returnvalue.callSid).toBe(created!.sid);
    expect(twilio.calls.get(created!.sid)).toMatchObject({ status: 'queued' });
    expect(twilio.calls.get(created!.sid)?.startTime).toBeUndefined();
    expect(twilio.createsTo(to)).toHaveLength(1);
  }, 60_000);
});
