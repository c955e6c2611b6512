import { describe, expect } from 'vitest';
import { it, test } from './helpers/fixtures.js';
import { aCall, nextJobs, type Service } from './helpers/harness.js';
import type { TwilioStandIn } from './helpers/twilio-stand-in.js';

let twilio: TwilioStandIn;
let service: Service;
test.beforeEach(({ twilio: standIn, service: started }) => {
  twilio = standIn;
  service = started;
});

const schedule = async (payload: object, url = 'schedule-call') =>
  (await service.app.inject({ method: 'POST', url: `/api/queue/${url}`, payload })).json().jobId as string;
const getJob = (jobId: string) => service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` });
const cancel = (jobId: string) => service.app.inject({ method: 'DELETE', url: `/api/queue/job/${jobId}` });
const retry = (jobId: string) => service.app.inject({ method: 'POST', url: `/api/queue/job/${jobId}/retry` });

describe('GET /api/queue/job/:jobId', () => {
  it('shows a waiting call with its data and no call SID yet', async () => {
    const jobId = await schedule(aCall({ lead_id: '7' }));
    const response = await getJob(jobId);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      success: true,
      jobId,
      state: 'waiting',
      progress: 0,
      data: { to: '+14155550123', lead_id: '7', priority: 'normal' },
      attemptsMade: 0,
      failedReason: null,
      callSid: null,
      processedAt: null,
    });
  });

  it('shows the call SID Twilio returned once the call is placed', async () => {
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 1);
    const jobId = await schedule(aCall());
    await done;
    const body = (await getJob(jobId)).json();
    expect(body).toMatchObject({ state: 'completed', progress: 100, attemptsMade: 1, callStatus: 'queued' });
    expect(body.callSid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(body.finishedAt).not.toBeNull();
  });

  it('shows when the call is due, as the schedule answer did, before and after it comes due', async () => {
    const now = (await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall() })).json();
    expect((await getJob(now.jobId)).json().scheduledFor).toBe(now.scheduledFor);

    const later = (await service.app.inject({ method: 'POST', url: '/api/queue/schedule-delayed-call', payload: aCall({ delayMs: 60_000 }) })).json();
    expect((await getJob(later.jobId)).json().scheduledFor).toBe(later.scheduledFor);
    // Its time came (BullMQ then forgets the delay it was added with).
    await (await service.queue.getJob(later.jobId))!.promote();
    expect((await getJob(later.jobId)).json()).toMatchObject({ state: 'waiting', scheduledFor: later.scheduledFor });
  });

  it('answers 404 for an unknown job', async () => {
    const response = await getJob('999999');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ success: false, error: 'JOB_NOT_FOUND' });
  });
});

describe('DELETE /api/queue/job/:jobId', () => {
  it('removes a waiting call', async () => {
    const jobId = await schedule(aCall());
    const response = await cancel(jobId);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ success: true, jobId });
    expect(await service.queue.getJob(jobId)).toBeUndefined();
  });

  it('removes a delayed call', async () => {
    const jobId = await schedule(aCall({ delayMs: 60_000 }), 'schedule-delayed-call');
    expect((await cancel(jobId)).statusCode).toBe(200);
    expect(await service.queue.getDelayedCount()).toBe(0);
  });

  it('refuses with 409 while the call is being dialed', async () => {
    const worker = await service.startWorker({ TWILIO_ACCOUNT_SID: '', TWILIO_AUTH_TOKEN: '', TWILIO_PHONE_NUMBER: '', SIMULATED_DIAL_LATENCY_MS: '1500' });
    const active = nextJobs(worker, 'active', 1);
    const jobId = await schedule(aCall());
    await active;
    const response = await cancel(jobId);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ success: false, error: 'JOB_NOT_CANCELLABLE' });
  });

  it('refuses with 409 once the call is finished', async () => {
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 1);
    const jobId = await schedule(aCall());
    await done;
    expect((await cancel(jobId)).statusCode).toBe(409);
  });

  it('refuses a run of a recurring schedule, pointing at the schedule', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/api/queue/schedule-recurring-call',
      payload: aCall({ cronExpression: '0 9 * * *' }),
    });
    const { jobId, recurringId } = response.json();
    const refused = await cancel(jobId);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toContain(`/api/queue/recurring/${recurringId}`);
  });

  it('cancels a run left waiting by a schedule that no longer exists', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-recurring-call', payload: aCall({ cronExpression: '0 9 * * *' }) });
    const { jobId, recurringId } = response.json();
    await (await service.queue.getJob(jobId))!.promote();
    // The schedule goes the way it went before its runs were removed with it: the waiting run stays.
    await service.queue.removeJobScheduler(recurringId);
    expect((await getJob(jobId)).json().state).toBe('waiting');

    const cancelled = await cancel(jobId);
    expect(cancelled.statusCode).toBe(200);
    expect(await service.queue.getJob(jobId)).toBeUndefined();
  });

  it('answers 404 for an unknown job', async () => {
    expect((await cancel('nope')).statusCode).toBe(404);
  });
});

describe('POST /api/queue/job/:jobId/retry', () => {
  it('queues a failed call again, which then succeeds', async () => {
    twilio.failNext('+14155550123', { status: 400, code: 21215, message: 'Account not authorized to call +14155550123' });
    const worker = await service.startWorker();
    const failed = nextJobs(worker, 'failed', 1);
    const jobId = await schedule(aCall());
    await failed;
    expect((await getJob(jobId)).json()).toMatchObject({ state: 'failed', failedReason: expect.stringContaining('21215') });

    const completed = nextJobs(worker, 'completed', 1);
    const response = await retry(jobId);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ success: true, jobId });
    await completed;
    expect((await getJob(jobId)).json().state).toBe('completed');
    expect(twilio.creates).toHaveLength(2);
  });

  it('refuses with 409 for a call that has not failed', async () => {
    const jobId = await schedule(aCall());
    const response = await retry(jobId);
    expect(response.statusCode).toBe(409);
    expect(response.json().error).toBe('JOB_NOT_FAILED');
  });

  it('answers 404 for an unknown job', async () => {
    expect((await retry('123456')).statusCode).toBe(404);
  });
});
