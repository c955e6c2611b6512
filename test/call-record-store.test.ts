import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createCallRecordStore } from '../src/calls/call-record-store.js';

const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
const records = createCallRecordStore(redis, `test-${randomUUID().slice(0, 8)}`, 3600);
afterAll(() => redis.disconnect());

describe('call records', () => {
  it('stores the SID, claims it and applies the first status in one step', async () => {
    await records.markDialing('1', new Date('2026-11-21T10:00:00Z'));
    await records.recordPlaced('1', 'CA1', 2, { status: 'queued', at: '2026-11-21T10:00:01.000Z', callSid: 'CA1' });
    expect(await records.get('1')).toMatchObject({
      callSid: 'CA1',
      callStatus: 'queued',
      placedAttempt: 2,
      dialedAt: '2026-11-21T10:00:00.000Z',
      placedAt: '2026-11-21T10:00:01.000Z',
      timeline: [{ status: 'queued', at: '2026-11-21T10:00:01.000Z' }],
    });
    expect(await records.jobIdForSid('CA1')).toBe('1');
  });

  it('puts the dial\'s answer first in the timeline when the carrier\'s first callback came before it', async () => {
    await records.markDialing('3', new Date('2026-11-21T10:00:00Z'));
    expect(await records.applyStatus('3', { status: 'initiated', at: '2026-11-21T10:00:01.000Z', callSid: 'CA3' })).toBe('applied');
    await records.recordPlaced('3', 'CA3', 1, { status: 'queued', at: '2026-11-21T10:00:01.200Z', callSid: 'CA3' });
    await records.recordPlaced('3', 'CA3', 1, { status: 'queued', at: '2026-11-21T10:00:01.300Z', callSid: 'CA3' });
    expect(await records.get('3')).toMatchObject({
      callSid: 'CA3',
      callStatus: 'initiated',
      timeline: [
        { status: 'queued', at: '2026-11-21T10:00:01.000Z' },
        { status: 'initiated', at: '2026-11-21T10:00:01.000Z' },
      ],
    });
  });

  it('keeps working when Redis forgets its scripts (a restart, SCRIPT FLUSH)', async () => {
    await records.markDialing('2', new Date());
    await redis.script('FLUSH');
    await records.recordPlaced('2', 'CA2', 1, { status: 'queued', at: new Date().toISOString(), callSid: 'CA2' });
    await redis.script('FLUSH');
    expect(await records.applyStatus('2', { status: 'completed', at: new Date().toISOString(), callSid: 'CA2', durationSeconds: 12 })).toBe('final');
    expect(await records.get('2')).toMatchObject({ callSid: 'CA2', callStatus: 'completed', final: true, durationSeconds: 12 });
  });
});
