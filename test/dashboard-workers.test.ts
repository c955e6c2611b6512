import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type Service } from './helpers/harness.js';
import { spawnEntry, type SpawnedProcess } from './helpers/spawn-process.js';

let service: Service;
let worker: SpawnedProcess;
beforeAll(async () => {
  service = await startService({ ADMIN_API_KEYS: 'admin' });
  worker = spawnEntry('workers/calls/main.ts', { ...service.env, LOG_LEVEL: 'info' });
  await worker.waitForLog(/call worker started/);
});
afterAll(async () => {
  worker.kill('SIGKILL');
  await worker.exited;
  await service.stop();
});

const board = (path: string) => service.app.inject({ method: 'GET', url: `/admin/queues/api${path}`, headers: { authorization: 'Bearer admin' } });

describe('/admin/queues with a worker process running', () => {
  it('finds the worker the way BullMQ does, by its Redis client name', async () => {
    expect(await service.queue.getWorkersCount()).toBe(1);
  });

  it('lists the worker on the board, named by machine and process, instead of "No workers"', async () => {
    const workers = await board('/queues/calls/workers');
    expect(workers.statusCode).toBe(200);
    expect(workers.json().workers.map((listed: { name: string | null }) => listed.name)).toEqual([expect.stringMatching(new RegExp(`^${hostname()}:\\d+$`))]);
    const queues = (await board('/queues')).json().queues as Array<{ name: string; hasWorkers?: boolean | null }>;
    expect(queues.find((queue) => queue.name === 'calls')?.hasWorkers).toBe(true);
  });

  it('shows only the queues a worker serves in this configuration, each with its worker', async () => {
    const queues = (await board('/queues')).json().queues as Array<{ name: string; hasWorkers?: boolean | null }>;
    // Status callbacks reach the API and Supabase is off: no status polls, no call log outbox.
    expect(queues.map((queue) => [queue.name, queue.hasWorkers])).toEqual([['calls', true]]);
  });
});
