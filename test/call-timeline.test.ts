import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createCallRecordStore } from '../src/calls/call-record-store.js';

const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
const records = createCallRecordStore(redis, `test-${randomUUID().slice(0, 8)}`, 3600);
afterAll(() => redis.disconnect());

describe("a call's timeline", () => {
  it('reads in lifecycle order when the carrier stamps its events to the second', async () => {
    // Our own stamp of the carrier's answer has milliseconds; the carrier's callbacks do not.
    await records.recordPlaced('1', 'CA1', 1, { status: 'queued', at: '2026-11-21T10:00:00.734Z', callSid: 'CA1' });
    await records.applyStatus('1', { status: 'initiated', at: '2026-11-21T10:00:00.000Z', callSid: 'CA1' });
    await records.applyStatus('1', { status: 'ringing', at: '2026-11-21T10:00:00.000Z', callSid: 'CA1' });
    await records.applyStatus('1', { status: 'in-progress', at: '2026-11-21T10:00:03.000Z', callSid: 'CA1' });
    await records.applyStatus('1', { status: 'completed', at: '2026-11-21T10:00:09.000Z', callSid: 'CA1', durationSeconds: 6 });

    expect((await records.get('1'))?.timeline).toEqual([
      { status: 'queued', at: '2026-11-21T10:00:00.734Z' },
      { status: 'initiated', at: '2026-11-21T10:00:00.734Z' },
      { status: 'ringing', at: '2026-11-21T10:00:00.734Z' },
      { status: 'in-progress', at: '2026-11-21T10:00:03.000Z' },
      { status: 'completed', at: '2026-11-21T10:00:09.000Z' },
    ]);

    // Seconds apart, the carrier's time is kept, whatever it says.
    await records.recordPlaced('2', 'CA2', 1, { status: 'queued', at: '2026-11-29T10:00:00.734Z', callSid: 'CA2' });
    await records.applyStatus('2', { status: 'completed', at: '2026-11-20T10:00:47.000Z', callSid: 'CA2' });
    expect(await records.get('2')).toMatchObject({
      endedAt: '2026-11-20T10:00:47.000Z',
      timeline: [
        { status: 'queued', at: '2026-11-29T10:00:00.734Z' },
        { status: 'completed', at: '2026-11-20T10:00:47.000Z' },
      ],
    });
  });
});
