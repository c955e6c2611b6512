import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { wakeForDelayedJobs } from '../workers/calls/delayed-wake.js';

const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
const prefix = `test-${randomUUID().slice(0, 8)}`;
const queue = new Queue('calls', { connection: redis, prefix });
const stops: Array<() => void> = [];
afterEach(async () => {
  stops.splice(0).forEach((stop) => stop());
  await queue.obliterate({ force: true });
});
afterAll(async () => {
  await queue.close();
  redis.disconnect();
});

/** What a worker waiting for a job does: block on the queue's marker, here for up to 5 s. */
const waitForMarker = async () => {
  const blocking = redis.duplicate();
  try {
    return await blocking.bzpopmin(queue.keys.marker!, 5);
  } finally {
    blocking.disconnect();
  }
};

describe('waking workers for delayed calls', () => {
  it('leaves the marker workers wait on once the earliest delayed call is due, not before', async () => {
    const job = await queue.add('call', {}, { delay: 300 });
    const dueAt = job.timestamp + 300;
    // BullMQ's own marker (scored with the due time) would wake a worker too, on Redis's tick: without it, only the wake-up can.
    await redis.del(queue.keys.marker!);
    stops.push(wakeForDelayedJobs(redis, queue).close);

    const marker = await waitForMarker();
    expect(marker?.slice(1)).toEqual(['0', '0']);
    expect(Date.now()).toBeGreaterThanOrEqual(dueAt);
  });

  it('learns of a call delayed after it started following the queue', async () => {
    stops.push(wakeForDelayedJobs(redis, queue).close);
    const job = await queue.add('call', {}, { delay: 200 });
    await redis.del(queue.keys.marker!);

    const marker = await waitForMarker();
    expect(marker?.slice(1)).toEqual(['0', '0']);
    expect(Date.now()).toBeGreaterThanOrEqual(job.timestamp + 200);
  });
});
