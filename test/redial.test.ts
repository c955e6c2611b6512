import { describe, expect } from 'vitest';
import { sendStatusCallback } from './helpers/callbacks.js';
import { it, test } from './helpers/fixtures.js';
import { aCall, nextJobs, type Service } from './helpers/harness.js';
import type { TwilioStandIn } from './helpers/twilio-stand-in.js';
import type { Worker } from 'bullmq';

let twilio: TwilioStandIn;
let service: Service;
let worker: Worker;

test.override({
  serviceEnv: {
    PUBLIC_URL: 'https://switchboard.example.com',
    REDIAL_ON: 'busy,no-answer',
    REDIAL_MAX: '2',
    REDIAL_DELAY_MS: '60000',
  },
});
test.beforeEach(async ({ twilio: standIn, service: started }) => {
  twilio = standIn;
  service = started;
  worker = await service.startWorker();
});

const getJob = async (jobId: string) => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();

/** Schedules a call, lets the worker place it, and returns its job id and call SID. */
async function placed(payload: object): Promise<{ jobId: string; callSid: string }> {
  const done = nextJobs(worker, 'completed', 1);
  const jobId = (await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload })).json().jobId;
  const [job] = await done;
  return { jobId, callSid: job!.returnvalue.callSid };
}

const end = (call: { jobId: string; callSid: string }, status: string) =>
  sendStatusCallback(service, call.jobId, { CallSid: call.callSid, CallStatus: status, CallDuration: '0' });

describe('redials', () => {
  it('dials a busy call again later as a new delayed job, linked both ways', async () => {
    const first = await placed(aCall({ lead_id: 'lead-7', metadata: { campaign: 'renewals' } }));
    expect((await end(first, 'busy')).statusCode).toBe(204);

    const original = await getJob(first.jobId);
    expect(original.call).toMatchObject({ status: 'busy', final: true, redialJobId: expect.any(String) });
    const redial = await getJob(original.call.redialJobId);
    expect(redial).toMatchObject({
      state: 'delayed',
      data: { to: '+14155550123', lead_id: 'lead-7', metadata: { campaign: 'renewals' }, redialOf: first.jobId, rootJobId: first.jobId, redialNumber: 1 },
    });
    const job = await service.queue.getJob(original.call.redialJobId);
    expect(job!.delay).toBe(60_000);
  });

  it('adds one redial however often Twilio repeats the final callback', async () => {
    const first = await placed(aCall());
    await end(first, 'no-answer');
    await end(first, 'no-answer');
    expect(await service.queue.getDelayedCount()).toBe(1);
  });

  it('stops after REDIAL_MAX redials', async () => {
    let call = await placed(aCall({ lead_id: 'chain' }));
    for (const expectedNumber of [1, 2]) {
      await end(call, 'busy');
      const redialJobId = (await getJob(call.jobId)).call.redialJobId;
      const done = nextJobs(worker, 'completed', 1);
      await (await service.queue.getJob(redialJobId))!.promote();
      const [job] = await done;
      expect(job!.data).toMatchObject({ redialNumber: expectedNumber, rootJobId: expect.any(String), lead_id: 'chain' });
      call = { jobId: redialJobId, callSid: job!.returnvalue.callSid };
    }
    await end(call, 'busy');
    expect((await getJob(call.jobId)).call.redialJobId).toBeNull();
    expect(twilio.creates).toHaveLength(3);
  });

  it.each(['completed', 'canceled', 'failed'])('does not redial a call that ended %s by default', async (status) => {
    const first = await placed(aCall());
    await end(first, status);
    expect((await getJob(first.jobId)).call).toMatchObject({ status, final: true, redialJobId: null });
    expect(await service.queue.getDelayedCount()).toBe(0);
  });

  it('follows a per-call policy over the configured one', async () => {
    const busy = await placed(aCall({ to: '+14155550101', redial: { on: ['failed'], max: 1, delayMs: 5000 } }));
    await end(busy, 'busy');
    expect((await getJob(busy.jobId)).call.redialJobId).toBeNull();

    const failed = await placed(aCall({ to: '+14155550102', redial: { on: ['failed'], max: 1, delayMs: 5000 } }));
    await end(failed, 'failed');
    const redialJobId = (await getJob(failed.jobId)).call.redialJobId;
    expect((await service.queue.getJob(redialJobId))!.delay).toBe(5000);
  });

  it.each([
    ['an outcome that is never redialed', { on: ['completed'] }],
    ['too many redials', { max: 11 }],
    ['a negative delay', { delayMs: -1 }],
    ['an unknown option', { every: 'hour' }],
  ])('refuses a redial policy with %s', async (_name, redial) => {
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ redial }) });
    expect(response.statusCode).toBe(400);
    expect(response.json().details[0].field).toMatch(/^redial/);
  });
});
