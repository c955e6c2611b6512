import { describe, expect } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { it, test } from './helpers/fixtures.js';
import { aCall, type Service } from './helpers/harness.js';

const READ_KEY = 'read-key-0123456789';
const ADMIN_KEY = 'admin-key-0123456789';

let service: Service;
test.override({ fileServiceEnv: { API_KEYS: READ_KEY, ADMIN_API_KEYS: ADMIN_KEY } });
test.beforeAll(({ fileService }) => {
  service = fileService;
});

const send = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, key?: string, payload?: object) =>
  service.app.inject({ method, url, ...(key && { headers: { authorization: `Bearer ${key}` } }), ...(payload && { payload }) });

const everyone = [
  ['POST', '/api/queue/schedule-call', aCall()],
  ['POST', '/api/queue/schedule-delayed-call', aCall({ delayMs: 60_000 })],
  ['POST', '/api/queue/schedule-recurring-call', aCall({ cronExpression: '0 9 * * *' })],
  ['POST', '/api/queue/schedule-bulk-calls', { calls: [aCall()] }],
  ['GET', '/api/queue/stats'],
  ['GET', '/api/queue/waiting'],
  ['GET', '/api/capacity'],
  ['GET', '/api/priority-numbers'],
] as const;
const adminOnly = [
  ['DELETE', '/api/queue/job/1'],
  ['POST', '/api/queue/job/1/retry'],
  ['POST', '/api/queue/clean', { grace: 0 }],
  ['POST', '/api/queue/pause'],
  ['POST', '/api/queue/resume'],
  ['DELETE', '/api/queue/recurring/rec-x'],
  ['POST', '/api/capacity/reconcile'],
  ['PUT', '/api/priority-numbers/+14155550199', { priority: 'vip' }],
  ['DELETE', '/api/priority-numbers/+14155550199'],
] as const;

describe('API keys', () => {
  it.each([...everyone, ...adminOnly])('%s %s without a key is 401', async (method, url, payload?: object) => {
    const response = await send(method, url, undefined, payload);
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json()).toMatchObject({ success: false, error: 'UNAUTHORIZED' });
  });

  it.each([...everyone, ...adminOnly])('%s %s with an unknown key is 401', async (method, url, payload?: object) => {
    expect((await send(method, url, 'not-a-key', payload)).statusCode).toBe(401);
  });

  it.each(adminOnly)('%s %s with a read key is 403', async (method, url, payload?: object) => {
    const response = await send(method, url, READ_KEY, payload);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ success: false, error: 'FORBIDDEN' });
  });

  it.each(everyone)('%s %s with a read key is served', async (method, url, payload?: object) => {
    expect((await send(method, url, READ_KEY, payload)).statusCode).toBeLessThan(300);
  });

  it.each(adminOnly)('%s %s with an admin key is served (or says what is missing)', async (method, url, payload?: object) => {
    expect([200, 404]).toContain((await send(method, url, ADMIN_KEY, payload)).statusCode);
  });

  it('leaves /health and the docs open, and nothing changes from a refused request', async () => {
    expect((await send('GET', '/health')).statusCode).toBe(200);
    expect((await send('GET', '/docs/json')).statusCode).toBe(200);
    const before = await service.queue.count();
    await send('POST', '/api/queue/schedule-call', 'wrong', aCall());
    expect(await service.queue.count()).toBe(before);
  });
});

describe('binding beyond loopback', () => {
  it('refuses to start without keys', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST: 0\.0\.0\.0 would expose the API without keys/);
  });

  it('starts with keys, or on loopback without them', () => {
    expect(loadConfig({ HOST: '0.0.0.0', API_KEYS: 'a', ADMIN_API_KEYS: 'b' }).authRequired).toBe(true);
    expect(loadConfig({ HOST: '127.0.0.1' }).authRequired).toBe(false);
  });
});
