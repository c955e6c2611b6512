import { QueueEvents } from 'bullmq';
import { afterEach, describe, expect } from 'vitest';
import { CALL_STATUS_QUEUE_NAME } from '../src/jobs/call-jobs.js';
import { it, test, type StartService } from './helpers/fixtures.js';
import { aCall, nextJobs, type Service } from './helpers/harness.js';
import type { TwilioStandIn } from './helpers/twilio-stand-in.js';

let twilio: TwilioStandIn;
let startTwilioService: StartService;
let service: Service;
let events: QueueEvents;

test.beforeEach(({ twilio: standIn, startTwilioService: startWithStandIn }) => {
  twilio = standIn;
  startTwilioService = startWithStandIn;
});
afterEach(async () => {
  await events.close();
});

async function start(env: Record<string, string> = {}) {
  // No PUBLIC_URL: Twilio could not reach us, so the worker polls each placed call.
  service = await startTwilioService({ STATUS_POLL_INTERVAL_MS: '100', REDIAL_ON: 'busy', REDIAL_DELAY_MS: '60000', ...env });
  events = new QueueEvents(CALL_STATUS_QUEUE_NAME, { connection: { url: service.config.redisUrl }, prefix: service.config.QUEUE_PREFIX });
  await events.waitUntilReady();
  const worker = await service.startWorker();
  const placed = nextJobs(worker, 'completed', 1);
  const jobId = (await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall() })).json().jobId as string;
  const [job] = await placed;
  return { jobId, callSid: job!.returnvalue.callSid as string };
}

const tracked = (jobId: string, event: 'completed' | 'delayed') =>
  new Promise<void>((resolve) => {
    const listener = ({ jobId: trackId }: { jobId: string }) => {
      if (trackId !== `track-${jobId}`) return;
      events.off(event, listener);
      resolve();
    };
    events.on(event, listener);
  });

const getJob = async (jobId: string) => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();

describe('without PUBLIC_URL, a placed call is polled until it ends', () => {
  it('records each status it sees, then the final outcome', async () => {
    const { jobId, callSid } = await start();
    twilio.setCallStatus(callSid, 'in-progress', { startTime: new Date() });
    // Each poll that finds the call still going puts the tracker back to sleep: wait for one that saw it.
    while ((await getJob(jobId)).call.status !== 'in-progress') await tracked(jobId, 'delayed');

    const ended = tracked(jobId, 'completed');
    twilio.setCallStatus(callSid, 'completed', { duration: 37, answeredBy: 'human', endTime: new Date() });
    await ended;
    const job = await getJob(jobId);
    expect(job.call).toMatchObject({ status: 'completed', final: true, durationSeconds: 37, answeredBy: 'human' });
    expect(job.call.timeline.map((entry: { status: string }) => entry.status)).toEqual(['queued', 'in-progress', 'completed']);
    const polls = twilio.requests.filter((request) => request.method === 'GET' && request.path.endsWith(`${callSid}.json`));
    expect(polls.length).toBeGreaterThanOrEqual(2);
  });

  it('redials a polled call that ended busy', async () => {
    const { jobId, callSid } = await start();
    const ended = tracked(jobId, 'completed');
    twilio.setCallStatus(callSid, 'busy');
    await ended;
    expect((await getJob(jobId)).call).toMatchObject({ status: 'busy', redialJobId: expect.any(String) });
  });

  it('hangs up a call that outlives the longest allowed duration', async () => {
    const { jobId, callSid } = await start({ MAX_CALL_DURATION_SECONDS: '1' });
    const ended = tracked(jobId, 'completed');
    twilio.setCallStatus(callSid, 'in-progress', { startTime: new Date() });
    await ended;
    const update = twilio.requests.find((request) => request.method === 'POST' && request.path.endsWith(`${callSid}.json`));
    expect(update?.params).toEqual({ Status: 'completed' });
    expect((await getJob(jobId)).call).toMatchObject({ status: 'completed', final: true });
  });
});
