import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until } from './helpers/callbacks.js';
import { aCall, nextJobs, startService, type Service } from './helpers/harness.js';

let service: Service;
beforeEach(async () => {
  service = await startService({ RECURRING_MIN_INTERVAL_SECONDS: '1' });
});
afterEach(() => service.stop());

const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
  service.app.inject({ method, url: `/api/queue/${url}`, ...(payload && { payload }) });
const schedule = async (payload: object, url = 'schedule-call') => (await inject('POST', url, payload)).json().jobId as string;

describe('GET /api/queue/stats', () => {
  it('counts jobs by state, prioritized ones as waiting', async () => {
    await schedule(aCall({ priority: 'high' }));
    await schedule(aCall());
    await schedule(aCall({ delayMs: 60_000 }), 'schedule-delayed-call');
    const response = await inject('GET', 'stats');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      success: true,
      stats: { waiting: 2, active: 0, completed: 0, failed: 0, delayed: 1, total: 3 },
      paused: false,
    });
  });
});

describe('GET /api/queue/{state}', () => {
  it('lists waiting jobs in the order they will run, within start and end', async () => {
    const low = await schedule(aCall({ priority: 'low' }));
    const high = await schedule(aCall({ priority: 'high' }));
    const normal = await schedule(aCall());
    const all = (await inject('GET', 'waiting?start=0&end=10')).json();
    expect(all).toMatchObject({ success: true, state: 'waiting', start: 0, end: 10, total: 3 });
    expect(all.jobs.map((job: { jobId: string }) => job.jobId)).toEqual([high, normal, low]);
    const page = (await inject('GET', 'waiting?start=1&end=1')).json();
    expect(page.jobs.map((job: { jobId: string }) => job.jobId)).toEqual([normal]);
  });

  it('lists completed jobs with their call SIDs', async () => {
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 2);
    await schedule(aCall());
    await schedule(aCall());
    await done;
    const body = (await inject('GET', 'completed')).json();
    expect(body.total).toBe(2);
    for (const job of body.jobs) expect(job).toMatchObject({ state: 'completed', callSid: expect.stringMatching(/^CA/) });
  });

  it.each(['active', 'failed', 'delayed'])('lists %s jobs (none yet)', async (state) => {
    const response = await inject('GET', state);
    expect(response.json()).toMatchObject({ success: true, state, total: 0, jobs: [] });
  });

  it.each([
    ['end before start', 'waiting?start=5&end=2'],
    ['a negative start', 'waiting?start=-1'],
    ['a page too large', 'waiting?start=0&end=5000'],
    ['words', 'failed?start=first'],
  ])('refuses %s', async (_name, url) => {
    const response = await inject('GET', url);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('VALIDATION_ERROR');
  });
});

describe('POST /api/queue/clean', () => {
  it('removes finished jobs older than grace, and their call records', async () => {
    const worker = await service.startWorker({ SIMULATED_TIME_SCALE: '0.01' });
    const done = nextJobs(worker, 'completed', 3);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await schedule(aCall()));
    await done;
    // The calls end after their jobs complete: clean once they have, so no late status writes a record again.
    await until(
      () => Promise.all(ids.map(async (id) => (await inject('GET', `job/${id}`)).json().call?.final as boolean)),
      (finals) => finals.every(Boolean),
    );
    const young = await inject('POST', 'clean', { grace: 3_600_000, limit: 100 });
    expect(young.json()).toMatchObject({ success: true, total: 0 });

    const response = await inject('POST', 'clean', { grace: 0, limit: 100 });
    expect(response.json()).toEqual({ success: true, message: 'Removed 3 jobs', cleaned: { completed: 3, failed: 0 }, total: 3 });
    expect(await service.queue.getCompletedCount()).toBe(0);
    expect(await service.redisKeys('calls:call-record:*')).toEqual([]);
  });

  it('removes only the named state, at most limit jobs', async () => {
    for (let i = 0; i < 3; i++) await schedule(aCall({ delayMs: 60_000 }), 'schedule-delayed-call');
    await schedule(aCall());
    const response = await inject('POST', 'clean', { grace: 0, limit: 2, status: 'delayed' });
    expect(response.json()).toMatchObject({ cleaned: { delayed: 2 }, total: 2 });
    expect(await service.queue.getDelayedCount()).toBe(1);
    expect(await service.queue.getPrioritizedCount()).toBe(1);
  });

  it('works with no body at all', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/clean' });
    expect(response.statusCode).toBe(200);
    expect(response.json().total).toBe(0);
  });

  it.each([
    ['a negative grace', { grace: -1 }],
    ['a zero limit', { limit: 0 }],
    ['an unknown status', { status: 'active' }],
  ])('refuses %s', async (_name, payload) => {
    expect((await inject('POST', 'clean', payload)).statusCode).toBe(400);
  });
});

describe('POST /api/queue/pause and /resume', () => {
  it('stops every worker from starting calls until resumed', async () => {
    const first = await service.startWorker();
    const second = await service.startWorker();
    expect((await inject('POST', 'pause')).json()).toEqual({ success: true, message: 'Queue paused', paused: true });
    expect((await inject('GET', 'stats')).json().paused).toBe(true);

    let started = 0;
    first.on('active', () => started++);
    second.on('active', () => started++);
    await schedule(aCall());
    await schedule(aCall());
    // Nothing can be awaited for "no worker started a job": watch both workers for a while.
    await sleep(750);
    expect(started).toBe(0);
    expect((await inject('GET', 'stats')).json().stats.waiting).toBe(2);

    const completions = new Promise<void>((resolve) => {
      let count = 0;
      const onDone = () => ++count === 2 && resolve();
      first.on('completed', onDone);
      second.on('completed', onDone);
    });
    expect((await inject('POST', 'resume')).json()).toEqual({ success: true, message: 'Queue resumed', paused: false });
    await completions;
    expect(await service.queue.getCompletedCount()).toBe(2);
  });
});

describe('recurring calls', () => {
  it('produces runs on its schedule until deleted', async () => {
    const worker = await service.startWorker();
    const twoRuns = nextJobs(worker, 'completed', 2);
    const created = (await inject('POST', 'schedule-recurring-call', aCall({ cronExpression: '* * * * * *', lead_id: 'daily' }))).json();
    expect(created.status).toBe('recurring');

    const runs = await twoRuns;
    expect(runs.map((job) => job.data.recurringId)).toEqual([created.recurringId, created.recurringId]);
    expect(runs[1]!.processedOn! - runs[0]!.processedOn!).toBeGreaterThanOrEqual(900);

    const listed = (await inject('GET', 'recurring')).json();
    expect(listed.schedules).toEqual([
      expect.objectContaining({ recurringId: created.recurringId, cronExpression: '* * * * * *', data: expect.objectContaining({ lead_id: 'daily' }) }),
    ]);

    const removed = await inject('DELETE', `recurring/${created.recurringId}`);
    expect(removed.json()).toEqual({ success: true, message: 'Recurring schedule deleted', recurringId: created.recurringId, removedRuns: expect.any(Number) });
    expect((await inject('GET', 'recurring')).json().schedules).toEqual([]);
    expect(await service.queue.getDelayedCount()).toBe(0);
  });

  it('removes its next run with it, and says so', async () => {
    const created = (await inject('POST', 'schedule-recurring-call', aCall({ cronExpression: '0 9 * * *' }))).json();
    const removed = await inject('DELETE', `recurring/${created.recurringId}`);
    expect(removed.json()).toEqual({ success: true, message: 'Recurring schedule deleted', recurringId: created.recurringId, removedRuns: 1 });
    expect(await service.queue.getJob(created.jobId)).toBeUndefined();
  });

  it('removes a run that already fired and waits for a worker, so it is never dialed', async () => {
    const created = (await inject('POST', 'schedule-recurring-call', aCall({ cronExpression: '0 9 * * *' }))).json();
    // Its time came: the run leaves the delayed set for the line of waiting calls.
    await (await service.queue.getJob(created.jobId))!.promote();
    expect((await inject('GET', `job/${encodeURIComponent(created.jobId)}`)).json()).toMatchObject({ state: 'waiting', scheduledFor: created.nextRunAt });

    const removed = await inject('DELETE', `recurring/${created.recurringId}`);
    expect(removed.json()).toMatchObject({ success: true, removedRuns: 1 });
    expect((await inject('GET', `job/${encodeURIComponent(created.jobId)}`)).statusCode).toBe(404);
    expect((await inject('GET', 'stats')).json().stats).toMatchObject({ waiting: 0, delayed: 0 });
  });

  it('lets a run being dialed finish, and removes the next one', async () => {
    const worker = await service.startWorker({ SIMULATED_DIAL_LATENCY_MS: '1500' });
    const started = nextJobs(worker, 'active', 1);
    const created = (await inject('POST', 'schedule-recurring-call', aCall({ cronExpression: '* * * * * *' }))).json();
    const [dialing] = await started;
    const finished = nextJobs(worker, 'completed', 1);

    const removed = await inject('DELETE', `recurring/${created.recurringId}`);
    // The run after the one being dialed was added when it started: that one goes.
    expect(removed.json()).toMatchObject({ success: true, removedRuns: 1 });
    expect((await finished)[0]!.id).toBe(dialing!.id);
    expect(await service.queue.getJobCounts('delayed', 'prioritized', 'wait')).toEqual({ delayed: 0, prioritized: 0, wait: 0 });
  });

  it('shows a schedule whose run is overdue, waits for that run instead of piling up more, then moves on', async () => {
    // No worker yet: the first run comes due and nobody dials it.
    const created = (await inject('POST', 'schedule-recurring-call', aCall({ cronExpression: '* * * * * *' }))).json();
    const overdue = await until(
      async () => (await inject('GET', 'recurring')).json().schedules[0],
      (schedule) => schedule.overdue === true,
    );
    expect(overdue).toMatchObject({ recurringId: created.recurringId, pendingRunJobId: created.jobId, nextRunAt: created.nextRunAt });
    expect((await inject('GET', 'stats')).json().stats).toMatchObject({ waiting: 0, delayed: 1 });

    // Once the overdue run starts, the next one is due at the schedule's next time after that, not at the times missed.
    const worker = await service.startWorker();
    const [run] = await nextJobs(worker, 'completed', 1);
    expect(run!.id).toBe(created.jobId);
    const movedOn = (await inject('GET', 'recurring')).json().schedules[0];
    expect(Date.parse(movedOn.nextRunAt)).toBeGreaterThan(run!.processedOn!);
    expect(movedOn.pendingRunJobId).not.toBe(created.jobId);
  });

  it('answers 404 when deleting an unknown schedule', async () => {
    const response = await inject('DELETE', 'recurring/rec-unknown');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ success: false, error: 'RECURRING_NOT_FOUND' });
  });
});
