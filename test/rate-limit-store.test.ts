import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../src/lib/redis-server.js';
import { leasedCountStore } from '../src/plugins/rate-limit-store.js';
import { freePort } from './helpers/free-port.js';

// A private server: MONITOR counts round trips here, with no other test's commands in its stream.
const dir = mkdtempSync(join(tmpdir(), 'switchboard-rate-limit-'));
let server: RedisServerHandle;
const connections: Redis[] = [];
const connect = () => {
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  connections.push(redis);
  return redis;
};
beforeAll(async () => {
  server = await startRedisServer({ port: await freePort(), dir, persist: false });
});
afterAll(async () => {
  connections.forEach((redis) => redis.disconnect());
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const WINDOW_MS = 60_000;
const count = (store: FastifyRateLimitStore, key: string, max: number) =>
  new Promise<number>((resolve, reject) => store.incr(key, (error, counted) => (error ? reject(error) : resolve(counted!.current)), WINDOW_MS, max));

/** Runs `work` and answers how many lease scripts Redis ran for counters under `prefix`. */
async function leasesDuring(prefix: string, work: () => Promise<void>): Promise<number> {
  const monitor = await connect().monitor();
  connections.push(monitor);
  let leases = 0;
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'evalsha' && args[3]?.startsWith(prefix)) leases += 1;
  });
  // MONITOR reports what Redis ran: a marker command, seen last, tells everything before it was reported.
  const marker = `${prefix}marker`;
  const seen = new Promise<void>((resolve) => monitor.on('monitor', (_time: string, args: string[]) => args[1] === marker && resolve()));
  await work();
  await connect().get(marker);
  await seen;
  monitor.disconnect();
  return leases;
}

describe('the rate limit counter (blocks of a shared window)', () => {
  it('counts a quiet key one request at a time, exactly', async () => {
    const prefix = `test-rl-${randomUUID()}:`;
    const redis = connect();
    // A request every quarter of a second, as this process sees time.
    let now = Date.now();
    const store = leasedCountStore({ redis, prefix, now: () => now });
    // Redis learns the script first (ioredis sends it whole once), so every lease below is one EVALSHA.
    await count(store, 'warm-up', 600);
    const numbers: number[] = [];
    const leases = await leasesDuring(`${prefix}key-a`, async () => {
      for (let i = 0; i < 5; i += 1) {
        numbers.push(await count(store, 'key-a', 600));
        now += 250;
      }
    });
    expect(numbers).toEqual([1, 2, 3, 4, 5]);
    expect(await redis.get(`${prefix}key-a`)).toBe('5');
    expect(leases).toBe(5);
    expect(await redis.pttl(`${prefix}key-a`)).toBeGreaterThan(WINDOW_MS - 10_000);
  });

  it('gives a burst from two processes a number each, none twice, in a few round trips', async () => {
    const prefix = `test-rl-${randomUUID()}:`;
    const [one, two] = [leasedCountStore({ redis: connect(), prefix }), leasedCountStore({ redis: connect(), prefix })];
    let numbers: number[] = [];
    const leases = await leasesDuring(prefix, async () => {
      numbers = await Promise.all(Array.from({ length: 800 }, (_, index) => count(index % 2 === 0 ? one : two, 'key-b', 100_000)));
    });
    expect(new Set(numbers).size).toBe(800);
    expect(leases).toBeLessThan(20);
  });

  it('lets through no more than the limit, whichever process asks, and then answers without Redis', async () => {
    const prefix = `test-rl-${randomUUID()}:`;
    const max = 1_000;
    const stores = [leasedCountStore({ redis: connect(), prefix }), leasedCountStore({ redis: connect(), prefix })];
    // Warm traffic first, so blocks are as large as they get (a fiftieth of the limit).
    const warm = await Promise.all(Array.from({ length: 200 }, (_, index) => count(stores[index % 2]!, 'key-c', max)));
    const burst = await Promise.all(Array.from({ length: 1_600 }, (_, index) => count(stores[index % 2]!, 'key-c', max)));
    const allowed = [...warm, ...burst].filter((current) => current <= max).length;
    expect(allowed).toBeLessThanOrEqual(max);
    // Each process may hold back at most one block unused.
    expect(allowed).toBeGreaterThanOrEqual(max - 2 * (max / 50));
    const leases = await leasesDuring(prefix, async () => {
      const later = await Promise.all(Array.from({ length: 100 }, (_, index) => count(stores[index % 2]!, 'key-c', max)));
      expect(later.every((current) => current > max)).toBe(true);
    });
    expect(leases).toBe(0);
  });

  it('does not keep requests waiting on a lease Redis never answers', async () => {
    // A server that takes the connection and never says a word, as a master cut off mid-failover.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const redis = new Redis((silent.address() as AddressInfo).port, '127.0.0.1', { maxRetriesPerRequest: null });
    connections.push(redis);
    try {
      const store = leasedCountStore({ redis, prefix: `test-rl-${randomUUID()}:` });
      const outcomes = await Promise.allSettled(Array.from({ length: 3 }, () => count(store, 'key-e', 100)));
      expect(outcomes.map((outcome) => outcome.status === 'rejected' && String(outcome.reason))).toEqual(Array(3).fill('Error: the rate limit counter did not answer within 1000 ms'));
    } finally {
      silent.close();
    }
  });

  it('tells each waiting request when Redis cannot count', async () => {
    const redis = connect();
    const store = leasedCountStore({ redis, prefix: `test-rl-${randomUUID()}:` });
    await redis.quit();
    const outcomes = await Promise.allSettled(Array.from({ length: 3 }, () => count(store, 'key-d', 100)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });
});
