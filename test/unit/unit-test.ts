import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { test as base, inject } from 'vitest';
import { createCallRecordStore } from '../../src/calls/call-record-store.js';
import { createCapacity } from '../../src/capacity/create-capacity.js';
import { loadConfig } from '../../src/config.js';
import { CALL_QUEUE_NAME, callJobPolicy, type CallJobData } from '../../src/jobs/call-jobs.js';
import { createFakeCarrier, silentLogger } from './fakes.js';
import { createContactGate, type Clock } from '../../src/contact/contact-gate.js';
import { contactRules } from '../../src/contact/contact-settings.js';
import { createContactStore } from '../../src/contact/contact-store.js';

/** Deletes every key under `prefix`: what a test wrote to the harness's Redis. */
async function deleteKeys(redis: Redis, prefix: string) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * Unit tests: the domain's own factories wired by hand on the harness's private Redis, with a
 * carrier in memory. Each test has its own key prefix, and its keys are deleted after it.
 * `maxCalls` (the live-call capacity) is set per file or describe block with `test.override`.
 */
export const test = base
  // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from this pattern
  .extend('redis', { scope: 'file' }, async ({}, { onCleanup }) => {
    const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    onCleanup(() => redis.quit().then(() => undefined));
    return redis;
  })
  .extend('prefix', async ({ redis }, { onCleanup }) => {
    const prefix = `unit-${randomUUID().slice(0, 8)}`;
    onCleanup(() => deleteKeys(redis, prefix));
    return prefix;
  })
  .extend('carrier', () => createFakeCarrier())
  .extend('maxCalls', 2)
  /** The parts createCore wires, built from configuration the same way, around the fake carrier. */
  .extend('parts', async ({ redis, prefix, carrier, maxCalls }, { onCleanup }) => {
    const config = loadConfig({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix, MAX_CONCURRENT_CALLS: String(maxCalls), LOG_LEVEL: 'silent' });
    const callQueue = new Queue<CallJobData>(CALL_QUEUE_NAME, { connection: redis, prefix });
    onCleanup(() => callQueue.close());
    const callRecords = createCallRecordStore(redis, prefix, 3600);
    const { capacity, inbound, priorities } = createCapacity(config, redis, { callQueue, callRecords, dialer: carrier, logger: silentLogger });
    const contactStore = createContactStore(redis, prefix);
    // A Wednesday, 10:00 in California (where the test numbers are), running on from there.
    const started = Date.now();
    const clock: Clock = { now: () => Date.parse('2030-01-16T18:00:00Z') + (Date.now() - started), realDelayMs: (ms) => ms };
    const gate = createContactGate({ store: contactStore, defaults: contactRules(config), clock });
    return { config, jobPolicy: callJobPolicy(config), callQueue, callRecords, capacity, inbound, priorities, contactStore, gate, clock };
  });

export const it = test;
