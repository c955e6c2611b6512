import { DateTime } from 'luxon';
import { describe, expect } from 'vitest';
import { isOpen, nextOpening, parseCallingWindow } from '../src/contact/calling-window.js';
import { zonesFor } from '../src/contact/contact-gate.js';
import { until } from './helpers/callbacks.js';
import { it } from './helpers/fixtures.js';
import { aCall, fastClock, startService, type Service } from './helpers/harness.js';
import { spawnEntry } from './helpers/spawn-process.js';

const WINDOW = { rules: parseCallingWindow('Mon-Sun 08:00-21:00') as never, blackoutDates: [] };

/** Numbers across the US: California, Arizona (no DST), New York, Chicago, Denver, Alaska, Hawaii, Indianapolis; and a Gary, Indiana number called in Central time. */
const PEOPLE = [
  { to: '+14155550101' },
  { to: '+16025550102' },
  { to: '+12125550103' },
  { to: '+13125550104' },
  { to: '+13035550105' },
  { to: '+19075550106' },
  { to: '+18085550107' },
  { to: '+13175550108' },
  { to: '+12195550109', recipientTimezone: 'America/Chicago' },
];

const getJob = async (service: Service, jobId: string) => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();

/**
 * A campaign started at `start` by a clock running an hour a second: every call is dialed only when
 * 08:00-21:00 holds where it rings, and a call held back is dialed at its window's next opening.
 */
async function campaign(start: string) {
  const clock = fastClock(start, 3_600);
  const service = await startService({ CALLING_WINDOW: 'Mon-Sun 08:00-21:00', SIMULATED_TIME_SCALE: '0.01', REDIAL_ON: 'none', CALL_WORKER_CONCURRENCY: '10' }, { clock });
  try {
    await service.startWorker();
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-bulk-calls', payload: { calls: PEOPLE.map((person) => aCall(person)) } });
    expect(response.statusCode).toBe(201);
    const jobIds = response.json().jobIds as string[];
    const jobs = await Promise.all(jobIds.map((jobId) => until(() => getJob(service, jobId), (job) => job.call.final === true, 30_000)));
    return jobs.map((job, index) => ({ job, person: PEOPLE[index]! }));
  } finally {
    await service.stop();
  }
}

describe('a campaign across US time zones, by the service’s clock', () => {
  it.for([
    ['the spring-forward Sunday (2 am skipped)', '2027-03-14T09:30:00Z'],
    ['the fall-back Sunday (1 am twice)', '2027-11-07T08:30:00Z'],
  ] as const)('%s: no call outside 08:00-21:00 local, each held-back call dialed at its next opening', { timeout: 60_000 }, async ([, start]) => {
    const started = DateTime.fromISO(start);
    const results = await campaign(start);
    let heldBack = 0;
    for (const { job, person } of results) {
      const { zones } = zonesFor(person);
      const dialedAt = DateTime.fromISO(job.gate.at);
      expect(job.gate).toMatchObject({ decision: 'dial', reason: 'allowed' });
      expect(job.call.outcome).toBe('completed');
      expect(isOpen(WINDOW, zones, dialedAt), `${person.to} dialed at ${zones.map((zone) => dialedAt.setZone(zone).toISO()).join(', ')}`).toBe(true);
      const opening = nextOpening(WINDOW, zones, started)!;
      expect(dialedAt.toMillis()).toBeGreaterThanOrEqual(opening.toMillis());
      // Dialed at the opening: the worker wakes for it within moments, an hour at most by this clock (a second).
      expect(dialedAt.diff(opening, 'minutes').minutes).toBeLessThan(60);
      if (opening > started) heldBack += 1;
    }
    // At that hour most of the country is asleep.
    expect(heldBack).toBeGreaterThanOrEqual(6);
  });
});

describe('the do-not-call list, mid-campaign', () => {
  it('a number put on the list is never dialed again: its waiting calls and its pending redial are blocked, and say why', async ({ startService: start }) => {
    const service = await start({ REDIAL_ON: 'busy', REDIAL_DELAY_MS: '1500', REDIAL_MAX: '2', SIMULATED_TIME_SCALE: '0.01' });
    await service.startWorker();
    const schedule = async (payload: object) => (await service.app.inject({ method: 'POST', url: '/api/queue/schedule-delayed-call', payload })).json().jobId as string;
    const waiting = [await schedule(aCall({ to: '+14155550177', delayMs: 1500 })), await schedule(aCall({ to: '+14155550177', delayMs: 2000 }))];
    const busyFirst = (await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ to: '+14155559001' }) })).json().jobId as string;
    const redial = (await until(() => getJob(service, busyFirst), (job) => job.call.redialJobId !== null)).call.redialJobId as string;

    for (const number of ['+14155550177', '+14155559001']) {
      const put = await service.app.inject({ method: 'PUT', url: `/api/dnc/${number}`, payload: { reason: 'asked not to be called' } });
      expect(put.statusCode).toBe(200);
    }

    for (const jobId of [...waiting, redial]) {
      const job = await until(() => getJob(service, jobId), (view) => view.state === 'failed');
      expect(job).toMatchObject({ callSid: null, failedReason: expect.stringContaining('dnc'), gate: { decision: 'refuse', reason: 'dnc' } });
    }
    const metrics = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/switchboard_gate_decisions_total\{decision="refuse",reason="dnc"\} [3-9]/);
    const why = (await service.app.inject({ method: 'GET', url: '/api/contactability/+14155550177' })).json().contactability;
    expect(why).toMatchObject({ decision: 'refuse', reason: 'dnc', nextAllowedAt: null, rules: { doNotCall: { listed: true, entry: { key: '+14155550177', reason: 'asked not to be called', source: 'api' } } } });
  });
});

describe('frequency caps across processes', () => {
  it('3 per 24 h holds across four worker processes, counted where the carrier sees the dials', { timeout: 60_000 }, async ({ startTwilioService, twilio }) => {
    const service = await startTwilioService({ FREQUENCY_CAP: '3/24h', REDIAL_ON: 'none' });
    const workers = Array.from({ length: 4 }, () => spawnEntry('workers/calls/main.ts', { ...service.env, LOG_LEVEL: 'info' }));
    try {
      await Promise.all(workers.map((worker) => worker.waitForLog(/call worker started/)));
      const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-bulk-calls', payload: { calls: Array.from({ length: 12 }, () => aCall({ to: '+14155550188' })) } });
      const jobIds = response.json().jobIds as string[];
      const jobs = await Promise.all(jobIds.map((jobId) => until(() => getJob(service, jobId), (job) => job.gate !== null && (job.callSid !== null || job.state === 'delayed'), 30_000)));

      expect(twilio.createsTo('+14155550188')).toHaveLength(3);
      expect(jobs.filter((job) => job.callSid !== null)).toHaveLength(3);
      const held = jobs.filter((job) => job.state === 'delayed');
      expect(held).toHaveLength(9);
      for (const job of held) expect(job.gate).toMatchObject({ decision: 'defer', reason: 'frequency-cap', until: expect.any(String) });
    } finally {
      for (const worker of workers) {
        worker.kill('SIGTERM');
        await worker.exited;
      }
    }
  });
});

describe('the preview', () => {
  it("answers what the gate then does: its counts match the calls' first decisions", async () => {
    // 12:00 in New York, 09:00 in California, 06:00 in Hawaii and Alaska's 08:00 still to come.
    const clock = fastClock('2027-06-02T16:00:00Z', 1);
    const service = await startService({ CALLING_WINDOW: 'Mon-Sun 08:00-21:00', FREQUENCY_CAP: '1/24h', REDIAL_ON: 'none' }, { clock });
    try {
      await service.app.inject({ method: 'PUT', url: '/api/dnc/+1212*', payload: { reason: 'whole area code' } });
      const calls = [...PEOPLE.map((person) => aCall(person)), aCall({ to: '+14155550101' }), aCall({ to: '+18005550100' }), aCall({ to: '+14155550199', notAfter: '2027-06-02T16:30:00Z', callingWindow: 'Mon-Sun 18:00-20:00' })];
      const preview = (await service.app.inject({ method: 'POST', url: '/api/contactability/preview', payload: { calls } })).json();
      expect(preview.counts.dial + preview.counts.defer + preview.counts.refuse).toBe(calls.length);
      expect(preview.byReason).toMatchObject({ dnc: 1, expired: 1 });
      expect(preview.results[0]).toMatchObject({ number: '+14155550101', decision: 'dial', nextAllowedAt: expect.any(String) });

      await service.startWorker();
      const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-bulk-calls', payload: { calls } });
      const jobs = await Promise.all((response.json().jobIds as string[]).map((jobId) => until(() => getJob(service, jobId), (job) => job.gate !== null && job.state !== 'active')));
      const counts: Record<'dial' | 'defer' | 'refuse', number> = { dial: 0, defer: 0, refuse: 0 };
      for (const job of jobs) counts[job.gate.decision as keyof typeof counts] += 1;
      expect(counts).toEqual(preview.counts);
      // The list calls +14155550101 twice: the preview counts the first dial against the second's cap, as the gate does.
      expect(preview.results.filter((result: { number: string }) => result.number === '+14155550101').map((result: { decision: string; reason: string }) => [result.decision, result.reason])).toEqual([
        ['dial', 'allowed'],
        ['defer', 'frequency-cap'],
      ]);
    } finally {
      await service.stop();
    }
  });
});

describe('bad contactability input is a 400 naming the field, and nothing is queued', () => {
  it.for([
    ['an unknown time zone', { recipientTimezone: 'Mars/Olympus' }, 'recipientTimezone'],
    ['a window that ends before it starts', { callingWindow: 'Mon-Fri 20:00-09:00' }, 'callingWindow'],
    ['a window with no such day', { callingWindow: 'Mon-Fry 09:00-17:00' }, 'callingWindow'],
    ['a cap of 0', { frequencyCap: '0/24h' }, 'frequencyCap'],
    ['a cap over no time', { frequencyCap: '3/0h' }, 'frequencyCap'],
    ['a date that does not exist', { blackoutDates: ['2027-02-30'] }, 'blackoutDates[0]'],
    ['a notAfter already past', { notAfter: '2020-01-01T00:00:00Z' }, 'notAfter'],
  ] as const)('%s', async ([, fields, field], { startService: start }) => {
    const service = await start();
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall(fields) });
    expect(response.statusCode).toBe(400);
    expect(response.json().details).toEqual([expect.objectContaining({ field })]);
    expect(await service.queue.count()).toBe(0);
  });

  it('a CSV whose header names no number column, and import rows with a loose or past expiry', async ({ startService: start }) => {
    const service = await start();
    const bare = await service.app.inject({ method: 'POST', url: '/api/dnc/import', payload: '+14155550100\n+14155550101\n', headers: { 'content-type': 'text/csv' } });
    expect(bare.statusCode).toBe(400);
    expect(bare.json()).toMatchObject({ error: 'INVALID_CSV', message: expect.stringContaining('number') });
    const loose = await service.app.inject({
      method: 'POST',
      url: '/api/dnc/import',
      payload: 'number,expiresAt\n+14155550100,1\n+14155550101,03/04/2030\n+14155550102,2020-01-01T00:00:00Z\n+14155550103,2040-01-01T00:00:00Z\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(loose.json()).toMatchObject({ imported: 1, rejectedCount: 3, rejected: [{ line: 2 }, { line: 3 }, { line: 4 }] });
  });

  it('a malformed prefix or number on the do-not-call list', async ({ startService: start }) => {
    const service = await start();
    for (const key of ['+1415**', '1415*', '+*', 'not-a-number', '+1234']) {
      const response = await service.app.inject({ method: 'PUT', url: `/api/dnc/${encodeURIComponent(key)}`, payload: {} });
      expect(response.statusCode, key).toBe(400);
      expect(response.json().details).toEqual([expect.objectContaining({ field: 'number' })]);
    }
  });
});

describe('calls scheduled out of their window', () => {
  it('wait for their opening from the moment they are queued: scheduledFor says when, the job says why', async () => {
    // 02:30 in California, 05:30 in New York.
    const service = await startService({ CALLING_WINDOW: 'Mon-Sun 08:00-21:00' }, { clock: fastClock('2027-06-02T09:30:00Z', 1) });
    try {
      const one = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ to: '+14155550101' }) });
      // A call's own window can only narrow the configured one: London, at 10:30 there, is open.
      const bulk = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-bulk-calls', payload: { calls: [aCall({ to: '+12125550102', callingWindow: 'Mon-Sun 00:00-24:00' }), aCall({ to: '+442079460958' })] } });
      const [first, second, third] = [one.json().jobId, ...bulk.json().jobIds] as string[];

      const californian = await getJob(service, first!);
      expect(californian).toMatchObject({ state: 'delayed', gate: { decision: 'defer', reason: 'window', until: '2027-06-02T15:00:00.000Z' } });
      expect(Date.parse(californian.scheduledFor) - Date.now()).toBeGreaterThan(5 * 3_600_000 - 60_000);
      expect(await getJob(service, second!)).toMatchObject({ state: 'delayed', gate: { decision: 'defer', until: '2027-06-02T12:00:00.000Z' } });
      expect(await getJob(service, third!)).toMatchObject({ state: 'waiting', gate: null });
    } finally {
      await service.stop();
    }
  });
});

describe('a cron schedule out of its window', () => {
  it('keeps running: each run is gated and deferred on its own, and the next runs still come', { timeout: 30_000 }, async ({ startService: start }) => {
    const service = await start({ RECURRING_MIN_INTERVAL_SECONDS: '1', CALLING_WINDOW: 'Mon-Sun 00:00-24:00' });
    await service.startWorker();
    // A window that is always closed but for one minute a week, a week away at the soonest.
    const callingWindow = `${DateTime.utc().minus({ days: 1 }).toFormat('ccc')} 03:00-03:01`;
    const response = await service.app.inject({
      method: 'POST',
      url: '/api/queue/schedule-recurring-call',
      payload: aCall({ cronExpression: '*/2 * * * * *', recipientTimezone: 'UTC', callingWindow }),
    });
    expect(response.statusCode, response.body).toBe(201);
    const { recurringId } = response.json();
    // Runs that came were deferred, each on its own (the schedule's next run waits for its time, not yet gated).
    const deferredRuns = async () => {
      const runs = (await service.queue.getDelayed()).filter((job) => job.data.recurringId === recurringId);
      const gates = await Promise.all(runs.map(async (run) => (await getJob(service, run.id!)).gate));
      return gates.filter((gate) => gate !== null);
    };
    const deferred = await until(deferredRuns, (gates) => gates.length >= 2, 20_000);
    const schedule = ((await service.app.inject({ method: 'GET', url: '/api/queue/recurring' })).json().schedules as Array<{ recurringId: string; iterationCount: number }>).find((one) => one.recurringId === recurringId);
    expect(schedule!.iterationCount).toBeGreaterThanOrEqual(3);
    for (const gate of deferred) expect(gate).toMatchObject({ decision: 'defer', reason: 'window' });
  });
});
