import { describe, expect } from 'vitest';
import { it, test } from './helpers/fixtures.js';
import { startService, type Service } from './helpers/harness.js';

let service: Service;
test.override({ fileServiceEnv: { API_KEYS: 'reader', ADMIN_API_KEYS: 'admin' } });
test.beforeAll(({ fileService }) => {
  service = fileService;
});

describe('/admin/queues', () => {
  it('renders the Bull Board dashboard for an admin key', async () => {
    const page = await service.app.inject({ method: 'GET', url: '/admin/queues', headers: { authorization: 'Bearer admin' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('/admin/queues');
    const queues = await service.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { authorization: 'Bearer admin' } });
    expect(queues.statusCode).toBe(200);
    // Status callbacks reach the API and Supabase is off here: the board shows the one queue in use.
    expect(queues.json().queues.map((queue: { name: string }) => queue.name)).toEqual(['calls']);
  });

  it('shows the status polls and the call log outbox where this configuration uses them', async () => {
    const polling = await startService({ ADMIN_API_KEYS: 'admin', TWILIO_ACCOUNT_SID: 'AC' + '0'.repeat(32), TWILIO_AUTH_TOKEN: 'token', TWILIO_PHONE_NUMBER: '+14155550100', SUPABASE_URL: 'http://127.0.0.1:9', SUPABASE_SERVICE_ROLE_KEY: 'key' });
    try {
      const queues = await polling.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { authorization: 'Bearer admin' } });
      expect(queues.json().queues.map((queue: { name: string }) => queue.name).sort()).toEqual(['call-log', 'call-status', 'calls']);
    } finally {
      await polling.stop();
    }
  });

  it.each([
    ['no key', undefined, 401],
    ['a read key', 'reader', 403],
  ])('refuses %s', async (_name, key, status) => {
    const response = await service.app.inject({ method: 'GET', url: '/admin/queues', ...(key && { headers: { authorization: `Bearer ${key}` } }) });
    expect(response.statusCode).toBe(status);
  });
});
