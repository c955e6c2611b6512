import { describe, expect } from 'vitest';
import { sendStatusCallback, until } from './helpers/callbacks.js';
import { it, test } from './helpers/fixtures.js';
import { aCall, nextJobs, type Service } from './helpers/harness.js';
import type { StandInCall, TwilioStandIn } from './helpers/twilio-stand-in.js';

let twilio: TwilioStandIn;
let service: Service;

test.override({
  serviceEnv: {
    PUBLIC_URL: 'https://switchboard.example.com',
    MAX_CONCURRENT_CALLS: '3',
    // Calls bridged to the voice agent: each holds one of its slots from the dial to its end.
    CALL_CONNECT_MODE: 'agent',
    AGENT_DIAL_TARGET: 'sip:agent@voice.example.com',
    CALL_WORKER_CONCURRENCY: '5',
    REDIAL_ON: 'none',
  },
});
test.beforeEach(({ twilio: standIn, service: started }) => {
  twilio = standIn;
  service = started;
});

const jobIdOf = (params: Record<string, string | string[]>) => new URL(String(params.StatusCallback)).searchParams.get('jobId')!;

describe('outbound calls under MAX_CONCURRENT_CALLS', () => {
  it('never has more than the cap live, burns no attempts waiting, and dials every call', async () => {
    let live = 0;
    let mostLive = 0;
    const ending: Array<Promise<unknown>> = [];
    // Plays the network: each call is answered and ends shortly after it was placed.
    twilio.events.on('create', (call: StandInCall, params: Record<string, string | string[]>) => {
      live++;
      mostLive = Math.max(mostLive, live);
      const jobId = jobIdOf(params);
      ending.push(
        new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30)).then(async () => {
          live--;
          await sendStatusCallback(service, jobId, { CallSid: call.sid, CallStatus: 'completed', CallDuration: '30' });
        }),
      );
    });
    // Two workers compete for the same three slots.
    await service.startWorker({ CALL_WORKER_CONCURRENCY: '5' });
    await service.startWorker({ CALL_WORKER_CONCURRENCY: '5' });

    const calls = Array.from({ length: 50 }, (_, index) => aCall({ to: `+1415555${2000 + index}` }));
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-bulk-calls', payload: { calls } });
    const jobIds = response.json().jobIds as string[];
    const finished = await until(() => service.queue.getCompletedCount(), (done) => done === 50, 20_000);
    await Promise.all(ending);

    expect(finished).toBe(50);
    expect(mostLive).toBeLessThanOrEqual(3);
    expect(mostLive).toBe(3);
    expect(twilio.creates).toHaveLength(50);
    const jobs = await Promise.all(jobIds.map((jobId) => service.queue.getJob(jobId)));
    expect(jobs.every((job) => job!.attemptsMade === 1)).toBe(true);
    const snapshot = (await service.app.inject({ method: 'GET', url: '/api/capacity' })).json();
    expect(snapshot.capacity).toMatchObject({ max: 3, inUse: 0, free: 3, averageHandleSeconds: 30 });
  });

  it('keeps priority order while calls wait for a slot', async () => {
    const ends: Array<() => Promise<unknown>> = [];
    twilio.events.on('create', (call: StandInCall, params: Record<string, string | string[]>) => {
      const jobId = jobIdOf(params);
      ends.push(() => sendStatusCallback(service, jobId, { CallSid: call.sid, CallStatus: 'completed', CallDuration: '10' }));
    });
    const worker = await service.startWorker({ CALL_WORKER_CONCURRENCY: '1' });
    const firstThree = nextJobs(worker, 'completed', 3);
    for (let i = 0; i < 3; i++) await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ to: `+1415555${3000 + i}` }) });
    await firstThree;
    // All three slots are taken: these wait, in priority order whatever their arrival.
    for (const [to, priority] of [['+14155553101', 'low'], ['+14155553102', 'normal'], ['+14155553103', 'high'], ['+14155553104', 'normal']] as const) {
      await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ to, priority }) });
    }
    for (let round = 0; round < 4; round++) {
      const next = nextJobs(worker, 'completed', 1);
      await ends.shift()!();
      await next;
    }
    expect(twilio.creates.slice(3).map((create) => create.params.To)).toEqual(['+14155553103', '+14155553102', '+14155553104', '+14155553101']);
  });
});
