import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type Service } from './helpers/harness.js';

let service: Service;
beforeAll(async () => {
  service = await startService({ API_KEYS: 'reader', ADMIN_API_KEYS: 'admin' });
});
afterAll(() => service.stop());

describe('/admin/queues', () => {
  it('renders the Bull Board dashboard for an admin key', async () => {
    const page = await service.app.inject({ method: 'GET', url: '/admin/queues', headers: { authorization: 'Bearer admin' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('/admin/queues');
    const queues = await service.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { authorization: 'Bearer admin' } });
    expect(queues.statusCode).toBe(200);
    expect(queues.json().queues.map((queue: { name: string }) => queue.name).sort()).toEqual(['call-log', 'call-status', 'calls']);
  });

  it.each([
    ['no key', undefined, 401],
    ['a read key', 'reader', 403],
  ])('refuses %s', async (_name, key, status) => {
    const response = await service.app.inject({ method: 'GET', url: '/admin/queues', ...(key && { headers: { authorization: `Bearer ${key}` } }) });
    expect(response.statusCode).toBe(status);
  });
});
