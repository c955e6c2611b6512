import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { createCallRecordStore } from '../src/calls/call-record-store.js';
import { createCapacity } from '../src/capacity/create-capacity.js';
import { loadConfig } from '../src/config.js';
import { CALL_QUEUE_NAME, type CallJobData } from '../src/jobs/call-jobs.js';
import { startRedisServer, type RedisServerHandle } from '../src/lib/redis-server.js';
import { createCallPacer } from '../workers/calls/call-pacer.js';
import { freePort } from './helpers/free-port.js';
import { createFakeCarrier, silentLogger } from './unit/fakes.js';
import { Readable } from 'node:stream';
import { createCore } from '../src/core.js';

/**
 * Redis Cluster (and the proxies and Redis-compatible servers in front of managed clusters) routes
 * a script by the keys it declares; a key a script builds for itself is reached by luck or not at
 * all. Every key a script touches must be among its own KEYS: watched here with MONITOR on a
 * private server, where commands a script runs are reported with the source `lua`.
 */
const PREFIX = '{lua-keys}';
/** Keys of the service's own scripts; BullMQ's scripts build job keys themselves, by design, within the queue's hash tag. */
const OUR_KEYS = /^\{lua-keys\}:(capacity:|calls:(call-record|call-sid|pacer)|campaign|contact:|webhooks:)/;
const dir = mkdtempSync(join(tmpdir(), 'switchboard-lua-keys-'));
let server: RedisServerHandle;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer({ port: await freePort(), dir, persist: false });
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `work` under MONITOR; answers each key a script's commands touched that the script running
 * them did not declare. Redis reports a script's call, then the commands it runs, with nothing between.
 */
async function undeclaredKeys(work: () => Promise<void>) {
  const monitor = await redis.monitor();
  let declared = new Set<string>();
  const touched = new Set<string>();
  const undeclared = new Set<string>();
  let last: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    last = args;
    if (/^(evalsha|eval)$/i.test(args[0] ?? '')) {
      declared = new Set(args.slice(3, 3 + Number(args[2])));
    } else if (source === 'lua' && !/^publish$/i.test(args[0] ?? '')) {
      // (A channel a script publishes on is not a key: cluster routing does not depend on it.)
      for (const key of args.slice(1).filter((arg) => OUR_KEYS.test(arg))) {
        touched.add(key);
        if (!declared.has(key)) undeclared.add(key);
      }
    } else {
      declared = new Set();
    }
  });
  await work();
  // MONITOR reports after the fact: a marker command seen means every earlier one was seen.
  const marker = `${PREFIX}:marker`;
  await redis.exists(marker);
  for (let waited = 0; !last.includes(marker) && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  monitor.disconnect();
  return { touched, undeclared };
}

describe('every key a Lua script touches is declared in KEYS', () => {
  it('capacity: slots, the waiting line, a caller who asks for a callback and is given the freed slot', async () => {
    const config = loadConfig({ REDIS_URL: server.url, QUEUE_PREFIX: PREFIX, MAX_CONCURRENT_CALLS: '1', LOG_LEVEL: 'silent' });
    const callQueue = new Queue<CallJobData>(CALL_QUEUE_NAME, { connection: redis, prefix: PREFIX });
    const callRecords = createCallRecordStore(redis, PREFIX, 3600);
    const { capacity, inbound } = createCapacity(config, redis, { callQueue, callRecords, dialer: createFakeCarrier(), logger: silentLogger });
    // The queue writes its settings as it starts: done before MONITOR begins, which it would disturb.
    for (let waited = 0; !(await redis.exists(`${PREFIX}:calls:meta`)) && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    const job = { jobId: '1', data: {} };
    const { touched, undeclared } = await undeclaredKeys(async () => {
      expect(await capacity.acquire(job)).toBe(true);
      await inbound.answer({ callSid: 'CA-waiting', from: '+14155550101' });
      await inbound.hold({ callSid: 'CA-waiting', queueSid: 'QU-1' });
      await inbound.chooseCallback({ callSid: 'CA-waiting', digits: '1' });
      await capacity.release(job);
    });
    // The script that freed the slot read the waiter's choice: the slot is held for the callback.
    expect(await capacity.holders()).toEqual([expect.objectContaining({ kind: 'callback', callSid: 'CA-waiting' })]);
    await callQueue.close();
    expect(touched.size).toBeGreaterThan(0);
    expect([...undeclared]).toEqual([]);
  });

  it('call records and the dial pacer', async () => {
    const records = createCallRecordStore(redis, PREFIX, 3600);
    const pacer = createCallPacer(redis, `${PREFIX}:calls:pacer`, 10, 1_000);
    const { touched, undeclared } = await undeclaredKeys(async () => {
      await records.markDialing('7', new Date());
      await records.recordPlaced('7', 'CA-placed', 1, { status: 'queued', at: new Date().toISOString() });
      await records.applyStatus('7', { status: 'completed', callSid: 'CA-placed', at: new Date().toISOString(), durationSeconds: 3 });
      await records.nextLogVersion('7');
      expect(await pacer.waitForTurn!()).toBe(true);
    });
    expect(touched.size).toBeGreaterThan(0);
    expect([...undeclared]).toEqual([]);
  });

  it('campaigns: created, contacts added and imported, fed, dialed, paused, retried, cancelled, deleted, each change recorded as an event', async () => {
    const config = loadConfig({ REDIS_URL: server.url, QUEUE_PREFIX: PREFIX, LOG_LEVEL: 'silent', CALLING_WINDOW: 'Mon-Sun 00:00-24:00' });
    const core = createCore(config, { redis, logger: silentLogger, dialer: createFakeCarrier() });
    // A subscriber to every event: each change also runs the event recorder's script.
    await core.webhooks.store.create({ url: 'https://crm.example.com/hooks', eventTypes: null, campaignId: null, description: null });
    await core.webhooks.subscriptions.refresh();
    for (let waited = 0; !(await redis.exists(`${PREFIX}:calls:meta`)) && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    const definition = { name: 'keys', message: 'Hi', priority: 'normal' as const, call: {}, rateShare: 1, slotShare: 1 };
    let id = '';
    const { touched, undeclared } = await undeclaredKeys(async () => {
      await core.contactStore.putDnc({ key: '+14155550199', reason: null, source: 'api', addedAt: new Date().toISOString(), expiresAt: null });
      id = (await core.campaigns.create(definition)).id;
      await core.campaigns.append(id, [{ key: 'a', to: '+14155550101', line: 0 }, { key: 'b', to: '+14155550199', line: 1 }]);
      await core.contactImport.importCsv(id, Readable.from(['number\n+14155550102\n+14155550103\n']), { mapping: { number: 'number' }, dryRun: false, importId: 'keys' });
      await core.campaigns.start(id);
      expect(await core.campaignFeeder.feedOnce()).toBe(3);
      const [job] = await core.callQueue.getJobs(['prioritized', 'wait']);
      await core.callLog.attempt(job!.id!, job!.data, 1, { status: 'dialing', dialedAt: new Date().toISOString() });
      await core.callLog.attempt(job!.id!, job!.data, 1, { status: 'error', errorMessage: 'busy line' });
      await core.campaigns.pause(id);
      await core.campaigns.resume(id);
      expect(await core.campaigns.retry(id, ['failed'])).toBe(1);
      await core.campaigns.cancel(id);
      await core.campaigns.remove(id);
    });
    await core.close();
    expect([...touched].some((key) => key.includes(':campaign:'))).toBe(true);
    expect([...touched].some((key) => key.includes(':webhooks:event:'))).toBe(true);
    expect([...undeclared]).toEqual([]);
  });
});
