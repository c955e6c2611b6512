import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aCall, startService, type Service } from './helpers/harness.js';

let service: Service;
beforeAll(async () => {
  service = await startService({ API_KEYS: 'crm-one,crm-two', ADMIN_API_KEYS: 'admin', API_RATE_LIMIT_MAX: '5', API_RATE_LIMIT_WINDOW_MS: '60000' });
});
afterAll(() => service.stop());

const statsWith = (key: string) => service.app.inject({ method: 'GET', url: '/api/queue/stats', headers: { authorization: `Bearer ${key}` } });

describe('the request rate limit', () => {
  it('answers 429 with Retry-After past the limit, per API key, and schedules nothing', async () => {
    for (let i = 0; i < 5; i++) expect((await statsWith('crm-one')).statusCode).toBe(200);
    const limited = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', headers: { authorization: 'Bearer crm-one' }, payload: aCall() });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ success: false, error: 'RATE_LIMITED' });
    expect(await service.queue.count()).toBe(0);
    // Another key has its own allowance; health and webhooks are not counted.
    expect((await statsWith('crm-two')).statusCode).toBe(200);
    expect((await service.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('is one allowance for a key across API processes', async () => {
    const other = await startService({ ...service.env, PORT: '0' });
    try {
      const fromOther = (key: string) => other.app.inject({ method: 'GET', url: '/api/queue/stats', headers: { authorization: `Bearer ${key}` } });
      // crm-two used one request above: three here and one there leave none.
      for (let i = 0; i < 3; i++) expect((await fromOther('crm-two')).statusCode).toBe(200);
      expect((await statsWith('crm-two')).statusCode).toBe(200);
      expect((await fromOther('crm-two')).statusCode).toBe(429);
      expect((await statsWith('crm-two')).statusCode).toBe(429);
    } finally {
      await other.app.close();
    }
  });
});
