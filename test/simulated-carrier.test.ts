import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATED_OUTCOMES } from '../src/carriers/simulated/simulated-carrier.js';
import { until } from './helpers/callbacks.js';
import { aCall, startService, type Service } from './helpers/harness.js';

let service: Service;
beforeAll(async () => {
  // No Twilio credentials: the simulated carrier, forty times faster than real time.
  service = await startService({ SIMULATED_TIME_SCALE: '0.025', SIMULATED_DIAL_LATENCY_MS: '0', CALL_BACKOFF_MS: '50', REDIAL_ON: 'busy', REDIAL_DELAY_MS: '600000' });
  await service.startWorker();
});
afterAll(() => service.stop());

const schedule = async (payload: object) =>
  (await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload })).json().jobId as string;
const getJob = async (jobId: string) => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();
const ended = (jobId: string) => until(() => getJob(jobId), (job) => job.call.final === true || job.state === 'failed');
const statuses = (job: { call: { timeline: Array<{ status: string }> } }) => job.call.timeline.map((entry) => entry.status);

describe('the simulated carrier', () => {
  it('documents an outcome for each special ending', () => {
    expect(SIMULATED_OUTCOMES).toEqual({
      '9001': 'busy',
      '9002': 'no-answer',
      '9003': 'failed',
      '9004': 'invalid-number',
      '9005': 'voicemail',
      '9006': 'carrier-outage-once',
      '9007': 'fax',
      '9008': 'silence',
      '9009': 'opts-out',
    });
  });

  it('plays an answered call through signed callbacks to its end', async () => {
    const job = await ended(await schedule(aCall({ machineDetection: 'Enable' })));
    expect(job.state).toBe('completed');
    expect(statuses(job)).toEqual(['queued', 'initiated', 'ringing', 'in-progress', 'completed']);
    expect(job.call).toMatchObject({ final: true, answeredBy: 'human', sipResponseCode: 200, durationSeconds: expect.any(Number) });
    expect(job.call.durationSeconds).toBeGreaterThan(0);
    // The carrier stamps its callbacks to the second; the timeline still reads forward in time.
    const times = job.call.timeline.map((entry: { at: string }) => Date.parse(entry.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it.each([
    ['+14155559001', 'busy', 486],
    ['+14155559002', 'no-answer', 487],
    ['+14155559003', 'failed', 503],
  ])('ends a call to %s as %s', async (to, status, sipResponseCode) => {
    const job = await ended(await schedule(aCall({ to, timeout: 10 })));
    expect(statuses(job)).toEqual(['queued', 'initiated', 'ringing', status]);
    expect(job.call).toMatchObject({ status, sipResponseCode, durationSeconds: 0 });
  });

  it('redials a busy simulated call per the policy', async () => {
    const jobId = await schedule(aCall({ to: '+14155559001', lead_id: 'sim' }));
    // The redial is added just after the final status is recorded.
    const job = await until(() => getJob(jobId), (view) => view.call.redialJobId !== null);
    expect(job.call.status).toBe('busy');
    expect((await getJob(job.call.redialJobId)).data).toMatchObject({ lead_id: 'sim', redialNumber: 1, redialOf: job.jobId });
  });

  it('rejects an invalid number at once, as Twilio does with 21211', async () => {
    const job = await ended(await schedule(aCall({ to: '+14155559004' })));
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1, failedReason: expect.stringContaining('21211') });
  });

  it.each([
    ['+14155559005', 'Enable', 'machine_start'],
    ['+14155559005', 'DetectMessageEnd', 'machine_end_beep'],
    ['+14155559007', 'Enable', 'fax'],
    ['+14155559008', 'Enable', 'unknown'],
    ['+14155550123', 'DetectMessageEnd', 'human'],
  ])('answers %s with detection %s as %s', async (to, machineDetection, answeredBy) => {
    const job = await ended(await schedule(aCall({ to, machineDetection })));
    expect(job.call).toMatchObject({ status: 'completed', answeredBy, outcome: 'completed', answerAction: null });
  });

  it('fails the first dial of an outage number, and places it on the retry', async () => {
    const job = await ended(await schedule(aCall({ to: '+14155559006' })));
    expect(job).toMatchObject({ state: 'completed', attemptsMade: 2, call: { status: 'completed' } });
  });

  it('shows the outage met by the first dial as an earlier attempt\'s error, not as the completed job\'s failure', async () => {
    const job = await ended(await schedule(aCall({ to: '+14155579006' })));
    expect(job).toMatchObject({ state: 'completed', failedReason: null, previousAttemptError: expect.stringContaining('20500') });
  });
});
