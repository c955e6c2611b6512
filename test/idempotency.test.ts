import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { aCall, startService, type Service } from './helpers/harness.js';

let service: Service;
beforeEach(async () => {
  service = await startService({ API_KEYS: 'crm-one,crm-two', ADMIN_API_KEYS: 'admin' });
});
afterEach(() => service.stop());

const schedule = (key: string | undefined, payload: object, url = 'schedule-call', apiKey = 'crm-one') =>
  service.app.inject({
    method: 'POST',
    url: `/api/queue/${url}`,
    headers: { authorization: `Bearer ${apiKey}`, ...(key !== undefined && { 'idempotency-key': key }) },
    payload,
  });

describe('Idempotency-Key', () => {
  it('answers a replay with the first response and schedules nothing new', async () => {
    const first = await schedule('order-42', aCall({ lead_id: '42' }));
    const again = await schedule('order-42', aCall({ lead_id: '42' }));
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await service.queue.count()).toBe(1);
  });

  it('refuses the same key with another body', async () => {
    await schedule('order-43', aCall({ lead_id: '43' }));
    const other = await schedule('order-43', aCall({ lead_id: '44' }));
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ success: false, error: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await service.queue.count()).toBe(1);
  });

  it('makes one job of concurrent requests with one key', async () => {
    const responses = await Promise.all(Array.from({ length: 10 }, () => schedule('burst-1', aCall({ lead_id: 'burst' }))));
    expect(responses.map((response) => response.statusCode)).toEqual(Array(10).fill(201));
    expect(new Set(responses.map((response) => response.json().jobId)).size).toBe(1);
    expect(await service.queue.count()).toBe(1);
  });

  it('keeps keys apart per endpoint and per API key', async () => {
    await schedule('shared', aCall());
    await schedule('shared', aCall(), 'schedule-call', 'crm-two');
    await schedule('shared', { calls: [aCall()] }, 'schedule-bulk-calls');
    expect(await service.queue.count()).toBe(3);
  });

  it('covers bulk, delayed and recurring scheduling', async () => {
    const bulk = { calls: [aCall(), aCall()] };
    expect((await schedule('b-1', bulk, 'schedule-bulk-calls')).json()).toEqual((await schedule('b-1', bulk, 'schedule-bulk-calls')).json());
    const delayed = aCall({ delayMs: 60_000 });
    await schedule('d-1', delayed, 'schedule-delayed-call');
    await schedule('d-1', delayed, 'schedule-delayed-call');
    const recurring = aCall({ cronExpression: '0 9 * * *' });
    await schedule('r-1', recurring, 'schedule-recurring-call');
    await schedule('r-1', recurring, 'schedule-recurring-call');
    expect(await service.queue.count()).toBe(4);
    expect(await service.queue.getJobSchedulersCount()).toBe(1);
  });

  it('keeps no failure: a fixed request may reuse the key', async () => {
    expect((await schedule('fix-1', aCall({ to: '+1234567890' }))).statusCode).toBe(400);
    expect((await schedule('fix-1', aCall())).statusCode).toBe(201);
  });

  it('adds only the missing calls when a request whose write was cut short is sent again', async () => {
    const calls = Array.from({ length: 5 }, (_, index) => aCall({ lead_id: String(index) }));
    const first = (await schedule('campaign-7', { calls }, 'schedule-bulk-calls')).json();
    // As if the write had stopped after three calls and the request failed: its key is released.
    const redis = new Redis(inject('redisUrl'));
    try {
      await redis.del(...(await service.redisKeys('idempotency:*')));
    } finally {
      redis.disconnect();
    }
    for (const jobId of first.jobIds.slice(3)) await (await service.queue.getJob(jobId))!.remove();

    const again = await schedule('campaign-7', { calls }, 'schedule-bulk-calls');
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.json().jobIds).toEqual(first.jobIds);
    const queued = await service.queue.getJobs(['prioritized', 'wait']);
    expect(queued.map((job) => job.data.lead_id).sort()).toEqual(['0', '1', '2', '3', '4']);
  });

  it('gives a retried single call the same job, not a second one', async () => {
    const first = (await schedule('call-9', aCall())).json();
    const redis = new Redis(inject('redisUrl'));
    try {
      await redis.del(...(await service.redisKeys('idempotency:*')));
    } finally {
      redis.disconnect();
    }
    const again = await schedule('call-9', aCall());
    expect(again.json().jobId).toBe(first.jobId);
    expect(await service.queue.count()).toBe(1);
  });

  it('refuses a key longer than 255 characters', async () => {
    const response = await schedule('k'.repeat(256), aCall());
    expect(response.statusCode).toBe(400);
    expect(await service.queue.count()).toBe(0);
  });
});
