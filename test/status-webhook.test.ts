import { describe, expect } from 'vitest';
import { sendStatusCallback } from './helpers/callbacks.js';
import { it, test } from './helpers/fixtures.js';
import { aCall, nextJobs, type Service } from './helpers/harness.js';
import { TEST_ACCOUNT_SID } from './helpers/twilio-stand-in.js';

let service: Service;
let jobId: string;
let callSid: string;

const getJob = async () => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();
const callback = (params: Record<string, string>, options?: Parameters<typeof sendStatusCallback>[3]) =>
  sendStatusCallback(service, jobId, { AccountSid: TEST_ACCOUNT_SID, CallSid: callSid, To: '+14155550123', From: '+14155550100', ...params }, options);

test.override({ serviceEnv: { PUBLIC_URL: 'https://switchboard.example.com', REDIAL_ON: 'none' } });
test.beforeEach(async ({ service: started }) => {
  service = started;
  const worker = await service.startWorker();
  const done = nextJobs(worker, 'completed', 1);
  jobId = (await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ machineDetection: 'Enable' }) })).json().jobId;
  const [job] = await done;
  callSid = job!.returnvalue.callSid;
});

describe('POST /webhooks/twilio/status', () => {
  it('records the call\'s life beside the job: timeline, final status, duration, answered by, SIP code', async () => {
    const before = await getJob();
    expect(before).toMatchObject({ state: 'completed', callSid, callStatus: 'queued', call: { final: false, timeline: [{ status: 'queued' }] } });

    for (const params of <Array<Record<string, string>>>[
      { CallStatus: 'initiated', Timestamp: 'Fri, 20 Nov 2026 10:00:00 +0000' },
      { CallStatus: 'ringing', Timestamp: 'Fri, 20 Nov 2026 10:00:01 +0000' },
      { CallStatus: 'in-progress', AnsweredBy: 'human', Timestamp: 'Fri, 20 Nov 2026 10:00:05 +0000' },
      { CallStatus: 'completed', CallDuration: '42', SipResponseCode: '200', AnsweredBy: 'human', Timestamp: 'Fri, 20 Nov 2026 10:00:47 +0000' },
    ]) {
      expect((await callback(params)).statusCode).toBe(204);
    }

    const job = await getJob();
    expect(job.state).toBe('completed');
    expect(job.callStatus).toBe('completed');
    expect(job.call).toMatchObject({
      sid: callSid,
      status: 'completed',
      final: true,
      durationSeconds: 42,
      answeredBy: 'human',
      sipResponseCode: 200,
      endedAt: '2026-11-20T10:00:47.000Z',
    });
    expect(job.call.timeline.map((entry: { status: string }) => entry.status)).toEqual(['queued', 'initiated', 'ringing', 'in-progress', 'completed']);
    expect(job.call.timeline[2]).toEqual({ status: 'ringing', at: '2026-11-20T10:00:01.000Z' });
  });

  it('records a failed call\'s error code and SIP response', async () => {
    await callback({ CallStatus: 'failed', SipResponseCode: '404', ErrorCode: '32009', ErrorMessage: 'Not found' });
    expect((await getJob()).call).toMatchObject({ status: 'failed', final: true, sipResponseCode: 404, errorCode: '32009', errorMessage: 'Not found' });
  });

  it('is idempotent when Twilio repeats a callback', async () => {
    await callback({ CallStatus: 'ringing' });
    await callback({ CallStatus: 'completed', CallDuration: '10' });
    const once = await getJob();
    expect((await callback({ CallStatus: 'completed', CallDuration: '10' })).statusCode).toBe(204);
    expect((await callback({ CallStatus: 'ringing' })).statusCode).toBe(204);
    expect(await getJob()).toEqual(once);
  });

  it('ignores events that arrive out of order: no ringing after completed', async () => {
    await callback({ CallStatus: 'completed', CallDuration: '7' });
    await callback({ CallStatus: 'in-progress' });
    await callback({ CallStatus: 'ringing' });
    const job = await getJob();
    expect(job.call.status).toBe('completed');
    expect(job.call.timeline.map((entry: { status: string }) => entry.status)).toEqual(['queued', 'completed']);
  });

  it('ignores an event about another call than the job\'s', async () => {
    await callback({ CallStatus: 'completed', CallSid: `CA${'f'.repeat(32)}` });
    expect((await getJob()).call).toMatchObject({ status: 'queued', final: false });
  });

  it.each([
    ['no signature', { signature: '' }],
    ['a signature made with another token', { authToken: 'not-the-token' }],
    ['a valid signature of other parameters (a replay with changes)', { signedParams: { CallStatus: 'ringing' } }],
  ])('refuses %s with 403 and records nothing', async (_name, options) => {
    const before = await getJob();
    const response = await callback({ CallStatus: 'ringing' }, options);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ success: false, error: 'INVALID_SIGNATURE' });
    expect(await getJob()).toEqual(before);
  });

  it('refuses a callback signed for another URL', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: `/webhooks/twilio/status?jobId=${jobId}&extra=1`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'invalid' },
      payload: `CallSid=${callSid}&CallStatus=completed`,
    });
    expect(response.statusCode).toBe(403);
  });

  it('finds the job from the CallSid when the URL names none', async () => {
    const response = await sendStatusCallback(service, '', { CallSid: callSid, CallStatus: 'busy' });
    expect(response.statusCode).toBe(204);
    expect((await getJob()).call.status).toBe('busy');
  });
});
