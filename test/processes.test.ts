import { QueueEvents } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { CALL_QUEUE_NAME } from '../src/jobs/call-jobs.js';
import { freePort } from './helpers/free-port.js';
import { aCall, startService, testEnv, type Service } from './helpers/harness.js';
import { spawnEntry, type SpawnedProcess } from './helpers/spawn-process.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function spawned(file: string, env: Record<string, string>): SpawnedProcess {
  const process = spawnEntry(file, env);
  cleanups.push(async () => {
    process.kill('SIGKILL');
    await process.exited;
  });
  return process;
}

async function queueEvents(service: Service) {
  const events = new QueueEvents(CALL_QUEUE_NAME, { connection: { url: service.config.redisUrl }, prefix: service.config.QUEUE_PREFIX });
  await events.waitUntilReady();
  cleanups.push(() => events.close());
  return events;
}

const eventsFor = (events: QueueEvents, name: 'active' | 'completed', count: number) =>
  new Promise<string[]>((resolve) => {
    const ids: string[] = [];
    events.on(name, ({ jobId }: { jobId: string }) => {
      ids.push(jobId);
      if (ids.length === count) resolve(ids);
    });
  });

describe('npm run api and npm run worker, as separate processes', () => {
  it('serve and dial together, and two workers share the queue', async () => {
    const port = await freePort();
    const env: Record<string, string> = { ...testEnv(), PORT: String(port), LOG_LEVEL: 'info' };
    const api = spawned('src/server.ts', env);
    const workers = [spawned('workers/calls/main.ts', env), spawned('workers/calls/main.ts', env)];
    await api.waitForLog(/Server listening/);
    await Promise.all(workers.map((worker) => worker.waitForLog(/call worker started/)));
    expect(workers[0]!.lines.join('\n')).toContain('SIMULATED CARRIER');

    const service = await startService({ QUEUE_PREFIX: env.QUEUE_PREFIX! });
    cleanups.push(() => service.stop());
    const events = await queueEvents(service);
    const completed = eventsFor(events, 'completed', 4);

    const jobIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/api/queue/schedule-call`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(aCall({ lead_id: String(i) })),
      });
      expect(response.status).toBe(201);
      jobIds.push(((await response.json()) as { jobId: string }).jobId);
    }
    expect((await completed).sort()).toEqual([...jobIds].sort());

    const job = (await (await fetch(`http://127.0.0.1:${port}/api/queue/job/${jobIds[0]}`)).json()) as Record<string, unknown>;
    expect(job).toMatchObject({ state: 'completed', callSid: expect.stringMatching(/^CA[0-9a-f]{32}$/) });
    const placedBy = await Promise.all(workers.map(async (worker) => worker.lines.filter((line) => line.includes('"call placed"')).length));
    expect(placedBy.reduce((a, b) => a + b)).toBe(4);
    const logLine = JSON.parse(workers.flatMap((worker) => worker.lines).find((line) => line.includes('"call placed"'))!);
    expect(logLine).toMatchObject({ jobId: expect.any(String), attempt: 1, to: '+141******23', outcome: 'placed', durationMs: expect.any(Number) });
  });

  it('SIGTERM lets a worker finish the calls it is dialing, leaving nothing stalled', async () => {
    const service = await startService();
    cleanups.push(() => service.stop());
    // A rate so high that no call waits for a turn: both active calls are being dialed.
    const worker = spawned('workers/calls/main.ts', { ...service.env, SIMULATED_DIAL_LATENCY_MS: '1000', CALL_WORKER_CONCURRENCY: '2', CALL_RATE_MAX: '100000', LOG_LEVEL: 'info' });
    await worker.waitForLog(/call worker started/);
    const events = await queueEvents(service);
    const active = eventsFor(events, 'active', 2);
    for (let i = 0; i < 3; i++) await service.queue.add('call', { ...aCall(), priority: 'normal' }, { priority: 2 });
    await active;

    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    // The calls being dialed finished; none was left active (stalled) or lost.
    const counts = await service.queue.getJobCounts('completed', 'active', 'waiting', 'prioritized', 'failed');
    expect(counts).toMatchObject({ active: 0, failed: 0 });
    expect(counts.completed).toBeGreaterThanOrEqual(2);
    expect(counts.completed! + counts.waiting! + counts.prioritized!).toBe(3);
    expect(worker.lines.join('\n')).toContain('worker stopped');
  });

  it('SIGTERM puts calls still waiting for their turn under the rate limit back in line, as they were', async () => {
    const service = await startService();
    cleanups.push(() => service.stop());
    // 40 calls a second, 50 at once: the worker fetches calls a little faster than their turns come.
    const worker = spawned('workers/calls/main.ts', { ...service.env, CALL_RATE_MAX: '40', CALL_RATE_WINDOW_MS: '1000', CALL_WORKER_CONCURRENCY: '50', LOG_LEVEL: 'info' });
    await worker.waitForLog(/call worker started/);
    const events = await queueEvents(service);
    const someDone = eventsFor(events, 'completed', 20);
    await service.queue.addBulk(Array.from({ length: 200 }, () => ({ name: 'call', data: { ...aCall(), priority: 'normal' as const }, opts: { priority: 2 } })));
    await someDone;

    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const counts = await service.queue.getJobCounts('completed', 'active', 'prioritized', 'failed');
    expect(counts).toMatchObject({ active: 0, failed: 0 });
    expect(counts.completed! + counts.prioritized!).toBe(200);
    // A call put back has spent none of its attempts.
    const waiting = await service.queue.getPrioritized();
    expect(waiting.filter((job) => job.attemptsMade > 0)).toEqual([]);
  });

  it('npm start runs the API and a worker in one process', async () => {
    const port = await freePort();
    const env: Record<string, string> = { ...testEnv(), PORT: String(port), LOG_LEVEL: 'info' };
    const all = spawned('bin/start.ts', env);
    await all.waitForLog(/Switchboard is listening/);
    const service = await startService({ QUEUE_PREFIX: env.QUEUE_PREFIX! });
    cleanups.push(() => service.stop());
    const events = await queueEvents(service);
    const completed = eventsFor(events, 'completed', 1);
    const response = await fetch(`http://127.0.0.1:${port}/api/queue/schedule-call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(aCall()),
    });
    const { jobId } = (await response.json()) as { jobId: string };
    expect(await completed).toEqual([jobId]);
    all.kill('SIGINT');
    expect(await all.exited).toBe(0);
  });

  it('refuses to start with a bad variable, naming it', async () => {
    const worker = spawned('workers/calls/main.ts', { ...testEnv(), CALL_RATE_MAX: 'lots' });
    expect(await worker.exited).toBe(1);
    expect(worker.lines.join('\n')).toMatch(/Invalid configuration:\n\s+- CALL_RATE_MAX: /);
  });
});
