import { describe, expect } from 'vitest';
import { it, test, type StartService } from './helpers/fixtures.js';
import { aCall, nextJobs, type Service } from './helpers/harness.js';
import type { TwilioStandIn } from './helpers/twilio-stand-in.js';

let twilio: TwilioStandIn;
let startTwilioService: StartService;
let service: Service;
const start = async (env: Record<string, string> = {}) => {
  service = await startTwilioService(env);
};
test.beforeEach(({ twilio: standIn, startTwilioService: startWithStandIn }) => {
  twilio = standIn;
  startTwilioService = startWithStandIn;
});

const schedule = async (payload: object, url = 'schedule-call') => {
  const response = await service.app.inject({ method: 'POST', url: `/api/queue/${url}`, payload });
  expect(response.statusCode).toBe(201);
  return response.json().jobId as string;
};

describe('dialing through Twilio', () => {
  it('sends To, From and TwiML that speaks the message with every markup character escaped', async () => {
    await start();
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 1);
    await schedule(aCall({ message: 'Hi <Play>http://evil</Play> & "bye"' }));
    const [job] = await done;

    expect(twilio.creates).toHaveLength(1);
    const { params, authorized } = twilio.creates[0]!;
    expect(authorized).toBe(true);
    expect(params.To).toBe('+14155550123');
    expect(params.From).toBe('+14155550100');
    expect(params.Twiml).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi &lt;Play&gt;http://evil&lt;/Play&gt; &amp; "bye"</Say></Response>');
    expect(params.StatusCallback).toBeUndefined();
    expect(job!.returnvalue).toMatchObject({ callSid: expect.stringMatching(/^CA/), callStatus: 'queued' });
  });

  it('uses the call\'s own caller id and asks for status callbacks when PUBLIC_URL is set', async () => {
    await start({ PUBLIC_URL: 'https://switchboard.example.com' });
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 1);
    const jobId = await schedule(aCall({ from: '+442079460958' }));
    await done;
    const { params } = twilio.creates[0]!;
    expect(params.From).toBe('+442079460958');
    expect(params.StatusCallback).toBe(`https://switchboard.example.com/webhooks/twilio/status?jobId=${jobId}`);
    expect(params.StatusCallbackMethod).toBe('POST');
    expect(params.StatusCallbackEvent).toEqual(['initiated', 'ringing', 'answered', 'completed']);
  });
});

describe('starting a worker', () => {
  it('checks the Twilio account first, and refuses credentials Twilio rejects', async () => {
    await start();
    await expect(service.startWorker({ TWILIO_AUTH_TOKEN: 'wrong-token' })).rejects.toThrow(/rejected the credentials: Twilio 20003/);
    await service.startWorker();
    expect(twilio.creates).toHaveLength(0);
  });
});

describe('order and timing', () => {
  it('dials a high-priority call queued after normal ones first, and FIFO within a level', async () => {
    await start({ CALL_WORKER_CONCURRENCY: '1' });
    await service.queue.pause();
    const numbers = ['+14155550101', '+14155550102', '+14155550103'];
    for (const to of numbers) await schedule(aCall({ to }));
    await schedule(aCall({ to: '+14155550199', priority: 'high' }));
    await schedule(aCall({ to: '+14155550198', priority: 'low' }));
    const worker = await service.startWorker({ CALL_WORKER_CONCURRENCY: '1' });
    const done = nextJobs(worker, 'completed', 5);
    await service.queue.resume();
    await done;
    expect(twilio.creates.map((create) => create.params.To)).toEqual(['+14155550199', ...numbers, '+14155550198']);
  });

  it('does not dial a delayed call before its time', async () => {
    await start();
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 1);
    const jobId = await schedule(aCall({ delayMs: 700 }), 'schedule-delayed-call');
    const job = await service.queue.getJob(jobId);
    await done;
    expect(twilio.creates[0]!.receivedAt).toBeGreaterThanOrEqual(job!.timestamp + 700);
  });
});

describe('retries', () => {
  it('retries a transient Twilio error with exponential backoff, then succeeds', async () => {
    await start({ CALL_BACKOFF_MS: '200' });
    twilio.failNext('+14155550123', { status: 503, code: 20503, message: 'Service unavailable' }, { status: 429, code: 20429, message: 'Too many requests' });
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 1);
    const jobId = await schedule(aCall());
    const [job] = await done;

    expect(job!.attemptsMade).toBe(3);
    const times = twilio.creates.map((create) => create.receivedAt);
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(200);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(400);
    const view = (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();
    expect(view).toMatchObject({ state: 'completed', attemptsMade: 3, callSid: expect.stringMatching(/^CA/) });
  });

  it('fails after the last attempt when the error persists', async () => {
    await start({ CALL_ATTEMPTS: '2', CALL_BACKOFF_MS: '50' });
    twilio.failNext('+14155550123', { status: 500, code: 20500 }, { status: 500, code: 20500 });
    const worker = await service.startWorker();
    const failed = nextJobs(worker, 'failed', 2);
    await schedule(aCall());
    const [, last] = await failed;
    expect(last!.attemptsMade).toBe(2);
    expect(await last!.getState()).toBe('failed');
    expect(twilio.creates).toHaveLength(2);
  });

  it('fails a permanent error at once with Twilio\'s code and message', async () => {
    await start();
    twilio.failNext('+14155550123', { status: 400, code: 21211, message: "The 'To' number +14155550123 is not a valid phone number." });
    const worker = await service.startWorker();
    const failed = nextJobs(worker, 'failed', 1);
    const jobId = await schedule(aCall());
    await failed;
    const view = (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 1, failedReason: "Twilio 21211: The 'To' number +14155550123 is not a valid phone number." });
    expect(twilio.creates).toHaveLength(1);
  });

  it('retries when Twilio cannot be reached at all', async () => {
    await start({ TWILIO_API_BASE_URL: 'http://127.0.0.1:9', CALL_ATTEMPTS: '2', CALL_BACKOFF_MS: '50' });
    const worker = await service.startWorker();
    const failed = nextJobs(worker, 'failed', 2);
    await schedule(aCall());
    const [first, last] = await failed;
    expect(first!.failedReason).toMatch(/Twilio unreachable: ECONNREFUSED/);
    expect(last!.attemptsMade).toBe(2);
  });
});

describe('per-call options', () => {
  it('passes machine detection, ring timeout and recording to Twilio, with the call time limit', async () => {
    await start({ MAX_CALL_DURATION_SECONDS: '3600' });
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 1);
    await schedule(aCall({ machineDetection: 'DetectMessageEnd', timeout: 25, record: true }));
    await done;
    expect(twilio.creates[0]!.params).toMatchObject({ MachineDetection: 'DetectMessageEnd', Timeout: '25', Record: 'true', TimeLimit: '3600' });
  });

  it.each([
    ['an unknown machine detection mode', { machineDetection: 'Yes' }, 'machineDetection'],
    ['a ring timeout under 5 s', { timeout: 2 }, 'timeout'],
    ['a ring timeout over 600 s', { timeout: 601 }, 'timeout'],
    ['record as a string', { record: 'yes' }, 'record'],
  ])('refuses %s', async (_name, change, field) => {
    await start();
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall(change) });
    expect(response.statusCode).toBe(400);
    expect(response.json().details[0].field).toBe(field);
  });
});

describe('never dialing one job twice', () => {
  it('looks up the call before retrying a 5xx that Twilio answered after creating it', async () => {
    await start({ CALL_BACKOFF_MS: '50' });
    twilio.failNext('+14155550123', { status: 500, code: 20500, message: 'Internal error', createAnyway: true });
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 1);
    const jobId = await schedule(aCall());
    const [job] = await done;

    expect(twilio.createsTo('+14155550123')).toHaveLength(1);
    const [created] = [...twilio.calls.values()];
    expect(job!.returnvalue.callSid).toBe(created!.sid);
    expect(twilio.requests.some((request) => request.method === 'GET' && request.path.endsWith('/Calls.json'))).toBe(true);
    expect((await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json().callSid).toBe(created!.sid);
  });

  it('dials again after a 5xx when the look-up finds no call', async () => {
    await start({ CALL_BACKOFF_MS: '50' });
    twilio.failNext('+14155550123', { status: 503, code: 20503 });
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 1);
    await schedule(aCall());
    await done;
    expect(twilio.createsTo('+14155550123')).toHaveLength(2);
    expect(twilio.calls.size).toBe(1);
  });

  it('does not adopt a call that another job owns', async () => {
    await start({ CALL_BACKOFF_MS: '50', CALL_WORKER_CONCURRENCY: '1' });
    const worker = await service.startWorker({ CALL_WORKER_CONCURRENCY: '1' });
    const first = nextJobs(worker, 'completed', 1);
    await schedule(aCall());
    await first;
    twilio.failNext('+14155550123', { status: 500, code: 20500 });
    const second = nextJobs(worker, 'completed', 1);
    await schedule(aCall());
    const [job] = await second;
    expect(twilio.calls.size).toBe(2);
    expect(twilio.calls.has(job!.returnvalue.callSid)).toBe(true);
    expect([...twilio.calls.values()].map((call) => call.sid)).toContain(job!.returnvalue.callSid);
  });

  it('retries a 429 directly, no sooner than its Retry-After, without a look-up', async () => {
    await start({ CALL_BACKOFF_MS: '50' });
    twilio.failNext('+14155550123', { status: 429, code: 20429, message: 'Too Many Requests', retryAfter: '1' });
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 1);
    await schedule(aCall());
    await done;
    const [first, second] = twilio.createsTo('+14155550123');
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(1000);
    expect(twilio.requests.filter((request) => request.method === 'GET' && request.path.endsWith('/Calls.json'))).toHaveLength(0);
  });

  it.each([
    [21211, "The 'To' number is not a valid phone number."],
    [21214, "'To' phone number cannot be reached"],
    [21215, 'Geo permission configuration is not permitting call'],
    [21210, "'From' phone number not verified"],
  ])('fails Twilio %i at once, with its code and message', async (code, message) => {
    await start();
    twilio.failNext('+14155550123', { status: 400, code, message });
    const worker = await service.startWorker();
    const failed = nextJobs(worker, 'failed', 1);
    await schedule(aCall());
    const [job] = await failed;
    expect(job!.failedReason).toBe(`Twilio ${code}: ${message}`);
    expect(job!.attemptsMade).toBe(1);
    expect(twilio.creates).toHaveLength(1);
  });
});

describe('rate limit', () => {
  it('never starts more than CALL_RATE_MAX calls in any rolling window, pacing them evenly', async () => {
    const max = 4;
    const windowMs = 1000;
    await start({ CALL_RATE_MAX: String(max), CALL_RATE_WINDOW_MS: String(windowMs), CALL_WORKER_CONCURRENCY: '10' });
    await service.queue.pause();
    await service.app.inject({
      method: 'POST',
      url: '/api/queue/schedule-bulk-calls',
      payload: { calls: Array.from({ length: 10 }, (_, index) => aCall({ to: `+1415555${String(index).padStart(4, '0')}` })) },
    });
    const worker = await service.startWorker({ CALL_RATE_MAX: String(max), CALL_RATE_WINDOW_MS: String(windowMs), CALL_WORKER_CONCURRENCY: '10' });
    const done = nextJobs(worker, 'completed', 10);
    await service.queue.resume();
    await done;

    const times = twilio.creates.map((create) => create.receivedAt).sort((a, b) => a - b);
    // Every window that starts at a dial holds at most `max` dials: that covers every rolling window.
    const busiest = Math.max(...times.map((from) => times.filter((t) => t >= from && t < from + windowMs).length));
    expect(busiest).toBeLessThanOrEqual(max);
    // Paced, not burst: no two calls arrive anywhere near together.
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThan(windowMs / max / 2);
  });
});

describe('finished jobs', () => {
  it('keeps at most KEEP_COMPLETED_JOBS_MAX completed calls, dropping the oldest', async () => {
    await start({ KEEP_COMPLETED_JOBS_MAX: '3', CALL_WORKER_CONCURRENCY: '1', CALL_RATE_MAX: '1000', CALL_RATE_WINDOW_MS: '1000' });
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 8);
    const response = await service.app.inject({
      method: 'POST',
      url: '/api/queue/schedule-bulk-calls',
      payload: { calls: Array.from({ length: 8 }, (_, index) => aCall({ lead_id: String(index) })) },
    });
    const jobIds = response.json().jobIds as string[];
    await done;
    const kept = await service.queue.getCompleted();
    expect(kept.map((job) => job.id).sort()).toEqual(jobIds.slice(-3).sort());
  });
});
