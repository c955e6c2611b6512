import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aCall, startService, type Service } from './helpers/harness.js';

let service: Service;
beforeEach(async () => {
  service = await startService({ RECURRING_MIN_INTERVAL_SECONDS: '60', BULK_MAX_CALLS: '10000' });
});
afterEach(() => service.stop());

const post = (url: string, payload: unknown) =>
  service.app.inject({ method: 'POST', url: `/api/queue/${url}`, payload: payload as object });

describe('POST /api/queue/schedule-call', () => {
  it('queues the call with its priority and answers with the seed-002 shape', async () => {
    const response = await post('schedule-call', aCall({ lead_id: '123', priority: 'high', metadata: { campaign: 'Q4 Outreach' } }));
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({
      success: true,
      message: 'Call scheduled successfully',
      status: 'scheduled',
      data: { to: '+14155550123', lead_id: '123', priority: 'high', metadata: { campaign: 'Q4 Outreach' } },
    });
    const job = await service.queue.getJob(body.jobId);
    expect(job?.opts.priority).toBe(1);
    expect(job?.data.to).toBe('+14155550123');
  });

  it('gives each of many concurrent requests its own job, with its own data and priority', async () => {
    const priorities = ['high', 'normal', 'low'] as const;
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, index) => post('schedule-call', aCall({ lead_id: String(index), priority: priorities[index % 3] }))),
    );
    expect(responses.map((response) => response.statusCode)).toEqual(responses.map(() => 201));
    const jobIds = responses.map((response) => response.json().jobId as string);
    expect(new Set(jobIds).size).toBe(60);
    for (const [index, jobId] of jobIds.entries()) {
      const job = await service.queue.getJob(jobId);
      expect(job?.data.lead_id).toBe(String(index));
      expect(job?.opts.priority).toBe(index % 3 + 1);
    }
  });

  it('normalises a number written with spaces and dashes to E.164', async () => {
    const response = await post('schedule-call', aCall({ to: '+44 20 7946-0958' }));
    expect(response.statusCode).toBe(201);
    expect(response.json().data.to).toBe('+442079460958');
  });

  it('takes a numeric lead_id and keeps it as a string', async () => {
    const response = await post('schedule-call', aCall({ lead_id: 42 }));
    expect(response.json().data.lead_id).toBe('42');
  });

  it.each([
    ['the seed placeholder +1234567890', { to: '+1234567890' }, 'to'],
    ['the seed placeholder +0987654321', { to: '+0987654321' }, 'to'],
    ['a number without a country code', { to: '4155550123' }, 'to'],
    ['letters', { to: '+1415CALLNOW' }, 'to'],
    ['a bad caller id', { from: '+1' }, 'from'],
    ['an empty message', { message: '   ' }, 'message'],
    ['a message too long for TwiML', { message: '&'.repeat(900) }, 'message'],
    ['an unknown priority', { priority: 'urgent' }, 'priority'],
    ['a misspelt field', { schedule_at: '2030-01-01T00:00:00Z' }, '(body)'],
    ['metadata that is not an object', { metadata: 'vip' }, 'metadata'],
    ['a number of the wrong type', { to: 14155550123 }, 'to'],
  ])('refuses %s with a 400 naming the field', async (_name, change, field) => {
    const response = await post('schedule-call', aCall(change));
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body).toMatchObject({ success: false, error: 'VALIDATION_ERROR' });
    expect(body.details.map((detail: { field: string }) => detail.field)).toContain(field);
  });

  it('refuses metadata larger than METADATA_MAX_BYTES', async () => {
    const response = await post('schedule-call', aCall({ metadata: { notes: 'x'.repeat(9000) } }));
    expect(response.statusCode).toBe(400);
    expect(response.json().details[0].field).toBe('metadata');
  });
});

describe('POST /api/queue/schedule-delayed-call', () => {
  it('delays the job until scheduleAt', async () => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const response = await post('schedule-delayed-call', aCall({ scheduleAt: at }));
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({ success: true, status: 'delayed', data: { scheduleAt: at } });
    expect(await service.queue.getJobState(body.jobId)).toBe('delayed');
    const job = await service.queue.getJob(body.jobId);
    expect(Math.abs(job!.timestamp + job!.delay - Date.parse(at))).toBeLessThan(1000);
  });

  it('accepts an offset other than Z', async () => {
    const at = new Date(Date.now() + 7_200_000);
    const withOffset = at.toISOString().replace('Z', '+00:00');
    const response = await post('schedule-delayed-call', aCall({ scheduleAt: withOffset }));
    expect(response.statusCode).toBe(201);
  });

  it('delays the job by delayMs', async () => {
    const response = await post('schedule-delayed-call', aCall({ delayMs: 3_600_000 }));
    expect(response.statusCode).toBe(201);
    const job = await service.queue.getJob(response.json().jobId);
    expect(job?.delay).toBe(3_600_000);
    expect(Date.parse(response.json().scheduledFor) - job!.timestamp).toBe(3_600_000);
  });

  it.each([
    ['a time in the past', { scheduleAt: '2025-11-20T10:00:00Z' }, 'scheduleAt'],
    ['a time without an offset', { scheduleAt: '2030-11-20T10:00:00' }, 'scheduleAt'],
    ['not a date', { scheduleAt: 'tomorrow' }, 'scheduleAt'],
    ['both scheduleAt and delayMs', { scheduleAt: '2030-11-20T10:00:00Z', delayMs: 1000 }, 'scheduleAt'],
    ['neither scheduleAt nor delayMs', {}, 'scheduleAt'],
    ['a negative delay', { delayMs: -1 }, 'delayMs'],
    ['a delay past the limit', { delayMs: 400 * 24 * 3600 * 1000 }, 'delayMs'],
    ['a time past the limit', { scheduleAt: '2099-01-01T00:00:00Z' }, 'scheduleAt'],
    ['a fractional delay', { delayMs: 1.5 }, 'delayMs'],
  ])('refuses %s', async (_name, change, field) => {
    const response = await post('schedule-delayed-call', aCall(change));
    expect(response.statusCode).toBe(400);
    expect(response.json().details.map((detail: { field: string }) => detail.field)).toContain(field);
  });
});

describe('POST /api/queue/schedule-recurring-call', () => {
  it('creates a job scheduler with the pattern and time zone', async () => {
    const response = await post('schedule-recurring-call', aCall({ cronExpression: '0 9 * * 1', timezone: 'America/New_York' }));
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({ success: true, status: 'recurring', cronExpression: '0 9 * * 1', timezone: 'America/New_York' });
    const scheduler = await service.queue.getJobScheduler(body.recurringId);
    expect(scheduler).toMatchObject({ pattern: '0 9 * * 1', tz: 'America/New_York' });
    const next = new Date(body.nextRunAt);
    expect(next.getUTCDay()).toBe(1);
    expect([13, 14]).toContain(next.getUTCHours());
  });

  it.each([
    ['a broken cron', { cronExpression: '0 99 * * *' }, 'cronExpression'],
    ['words', { cronExpression: 'every day' }, 'cronExpression'],
    ['a schedule every second', { cronExpression: '* * * * * *' }, 'cronExpression'],
    ['an unknown time zone', { cronExpression: '0 9 * * *', timezone: 'Mars/Olympus' }, 'timezone'],
    ['a missing cron', {}, 'cronExpression'],
  ])('refuses %s and stores nothing', async (_name, change, field) => {
    const response = await post('schedule-recurring-call', aCall(change));
    expect(response.statusCode).toBe(400);
    expect(response.json().details.map((detail: { field: string }) => detail.field)).toContain(field);
    expect(await service.queue.getJobSchedulersCount()).toBe(0);
  });
});

describe('POST /api/queue/schedule-bulk-calls', () => {
  it('adds every call, in order, with its own priority', async () => {
    const calls = [aCall({ lead_id: 'a', priority: 'high' }), aCall({ to: '+442079460958', lead_id: 'b' }), aCall({ lead_id: 'c', priority: 'low' })];
    const response = await post('schedule-bulk-calls', { calls });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({ success: true, count: 3, status: 'scheduled' });
    const jobs = await Promise.all(body.jobIds.map((id: string) => service.queue.getJob(id)));
    expect(jobs.map((job) => [job?.data.lead_id, job?.opts.priority])).toEqual([['a', 1], ['b', 2], ['c', 3]]);
  });

  it('takes 10,000 calls in one request, queued in the order sent', async () => {
    const calls = Array.from({ length: 10_000 }, (_, index) => aCall({ lead_id: String(index) }));
    const response = await post('schedule-bulk-calls', { calls });
    expect(response.statusCode).toBe(201);
    expect(await service.queue.getJobCountByTypes('prioritized', 'wait')).toBe(10_000);
    // FIFO within a priority level follows the job ids.
    const jobIds = (response.json().jobIds as string[]).map(Number);
    expect(jobIds).toEqual([...jobIds].sort((a, b) => a - b));
    const first = await service.queue.getPrioritized(0, 0);
    const last = await service.queue.getPrioritized(9_999, 9_999);
    expect([first[0]?.data.lead_id, last[0]?.data.lead_id]).toEqual(['0', '9999']);
  });

  it('rejects the whole request when one call is bad, naming its index', async () => {
    const calls = [aCall(), aCall(), aCall({ to: '+0987654321' }), aCall()];
    const response = await post('schedule-bulk-calls', { calls });
    expect(response.statusCode).toBe(400);
    expect(response.json().details).toEqual([expect.objectContaining({ index: 2, field: 'calls[2].to' })]);
    expect(await service.queue.count()).toBe(0);
  });

  it.each([
    ['an empty list', { calls: [] }],
    ['more than BULK_MAX_CALLS', { calls: Array.from({ length: 10_001 }, () => aCall()) }],
    ['no list', {}],
    ['a list of strings', { calls: ['+14155550123'] }],
  ])('refuses %s', async (_name, payload) => {
    const response = await post('schedule-bulk-calls', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('VALIDATION_ERROR');
    expect(await service.queue.count()).toBe(0);
  });
});

describe('requests that are not JSON calls', () => {
  const counts = () => service.queue.getJobCounts();

  it.each([
    ['broken JSON', { payload: '{"to": "+14155550123",', headers: { 'content-type': 'application/json' } }, 400, 'INVALID_JSON'],
    ['an empty JSON body', { payload: '', headers: { 'content-type': 'application/json' } }, 400, 'INVALID_BODY'],
    ['form encoding', { payload: 'to=%2B14155550123&message=hi', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['plain text', { payload: 'call +14155550123', headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a JSON array', { payload: '[]', headers: { 'content-type': 'application/json' } }, 400, 'VALIDATION_ERROR'],
    ['a huge body', { payload: `{"to":"+14155550123","message":"${'x'.repeat(9 * 1024 * 1024)}"}`, headers: { 'content-type': 'application/json' } }, 413, 'PAYLOAD_TOO_LARGE'],
  ])('answers %s with a contract error and enqueues nothing', async (_name, request, status, code) => {
    const before = await counts();
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', ...request });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ success: false, error: code, message: expect.any(String) });
    expect(await counts()).toEqual(before);
  });

  it('answers an unknown route with NOT_FOUND in the same shape', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/api/queue/nope' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ success: false, error: 'NOT_FOUND' });
  });
});
