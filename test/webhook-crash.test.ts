import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { webhookKeys } from '../src/events/subscription-store.js';
import { until } from './helpers/callbacks.js';
import { it } from './helpers/fixtures.js';
import { aCall } from './helpers/harness.js';
import { spawnEntry } from './helpers/spawn-process.js';
import { startWebhookReceiver, type ReceivedEvent } from './helpers/webhook-receiver.js';

describe('a worker killed with SIGKILL in the middle of delivering events', () => {
  it('loses none: another worker delivers every recorded event, in order per call', { timeout: 60_000 }, async ({ startService }) => {
    const service = await startService({ SIMULATED_TIME_SCALE: '0.01', REDIAL_ON: 'none', EVENTS_DELIVERY_TIMEOUT_MS: '1000', EVENTS_RETRY_BASE_MS: '100' });
    const receiver = await startWebhookReceiver({ answer: () => ({ status: 204, delayMs: 150 }) });
    const created = await service.app.inject({ method: 'POST', url: '/api/webhooks', payload: { url: receiver.url } });
    receiver.trust(created.json().secret);

    // The calls run to their end with no delivery running: their events wait in the outbox.
    await service.startWorker();
    const numbers = Array.from({ length: 8 }, (_, index) => `+1415555${2000 + index}`);
    const scheduled = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-bulk-calls', payload: { calls: numbers.map((to) => aCall({ to })) } });
    const jobIds = scheduled.json().jobIds as string[];
    await until(async () => service.queue.getCompletedCount(), (count) => count === jobIds.length, 20_000);
    const redis = new Redis(service.config.redisUrl);
    const recorded = await until(async () => redis.zcard(webhookKeys(service.config.QUEUE_PREFIX).events), (count) => count === jobIds.length * 5);
    redis.disconnect();

    const first = spawnEntry('workers/calls/main.ts', { ...service.env, LOG_LEVEL: 'info' });
    await receiver.waitFor(() => receiver.requests.length >= 4);
    first.kill('SIGKILL');
    await first.exited;
    const cutOff = receiver.events.length;
    expect(cutOff).toBeLessThan(recorded);

    const second = spawnEntry('workers/calls/main.ts', { ...service.env, LOG_LEVEL: 'info' });
    try {
      await receiver.waitFor(() => receiver.events.length === recorded, 30_000, 'every recorded event');
    } finally {
      second.kill('SIGTERM');
      await second.exited;
    }
    const byJob = new Map<string, ReceivedEvent[]>();
    for (const event of receiver.events) byJob.set(event.data.jobId as string, [...(byJob.get(event.data.jobId as string) ?? []), event]);
    for (const jobId of jobIds) expect(byJob.get(jobId)!.map((event) => event.type)).toEqual(['call.scheduled', 'call.dialing', 'call.ringing', 'call.answered', 'call.completed']);
    expect(receiver.badSignatures).toBe(0);
  });
});
