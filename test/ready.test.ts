import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startService, type Service } from './helpers/harness.js';

let service: Service;
beforeEach(async () => {
  service = await startService();
});
afterEach(() => service.stop());

const ready = () => service.app.inject({ method: 'GET', url: '/ready' });

describe('GET /ready', () => {
  it('is 503 until a worker is alive, then 200', async () => {
    expect((await ready()).statusCode).toBe(503);
    expect((await ready()).json()).toEqual({ success: false, ready: false, redis: 'up', workers: 0 });
    const worker = await service.startWorker();
    const response = await ready();
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ success: true, ready: true, redis: 'up', workers: 1 });
    expect(worker.isRunning()).toBe(true);
  });
});
