import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createCallPacer } from '../workers/calls/call-pacer.js';
import { until } from './helpers/callbacks.js';

const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
const other = redis.duplicate();
afterAll(() => {
  redis.disconnect();
  other.disconnect();
});
const key = () => `test-${randomUUID().slice(0, 8)}:calls:pacer`;

describe('pacing dials', () => {
  it('spaces turns by a little more than window / max, across every worker', async () => {
    const shared = key();
    // Two workers, each on its own connection, asking at once.
    const workers = [createCallPacer(redis, shared, 20, 1_000), createCallPacer(other, shared, 20, 1_000)];
    expect(workers[0]!.intervalMs).toBeCloseTo(1_010 / 20, 6);
    const turns = await Promise.all(Array.from({ length: 30 }, (_, index) => workers[index % 2]!.takeTurn!()));

    const times = turns.map((turn) => turn.at).sort((a, b) => a - b);
    const gaps = times.slice(1).map((time, index) => time - times[index]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1_010 / 20 - 0.002);
    // So any rolling second holds at most 20 turns, and the rate is lost to nothing but the slack.
    const busiest = Math.max(...times.map((from) => times.filter((time) => time >= from && time < from + 1_000).length));
    expect(busiest).toBe(20);
    expect(turns.map((turn) => turn.inMs).sort((a, b) => a - b)[0]).toBeGreaterThanOrEqual(0);
  });

  it('answers how long to wait: nothing for the first turn, one interval for the next', async () => {
    const pacer = createCallPacer(redis, key(), 10, 1_000);
    const first = await pacer.takeTurn!();
    const second = await pacer.takeTurn!();
    expect(first.inMs).toBe(0);
    expect(second.at - first.at).toBeCloseTo(101, 2);
    expect(second.inMs).toBeGreaterThan(90);
  });

  it('waits for its turn, never less', async () => {
    const pacer = createCallPacer(redis, key(), 10, 1_000);
    // Timed from before the first turn was taken: the second comes an interval (101 ms) after it,
    // however long the first took to return under load.
    const started = performance.now();
    expect(await pacer.waitForTurn!()).toBe(true);
    expect(await pacer.waitForTurn!()).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('holds a dial while the window already holds the limit, as after a dial held up by a pause', async () => {
    const shared = key();
    const pacer = createCallPacer(redis, shared, 2, 300);
    // Two dials just sent, whatever their turns said.
    const [seconds, micros] = await redis.time();
    const now = Number(seconds) * 1000 + Number(micros) / 1000;
    await redis.zadd(`${shared}:sent`, now, 'a', now, 'b');
    const started = performance.now();
    expect(await pacer.waitForTurn!()).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
  });

  it('stops waiting when the worker closes, and says so', async () => {
    const pacer = createCallPacer(redis, key(), 1, 60_000);
    await pacer.waitForTurn!();
    const closing = new AbortController();
    const waiting = pacer.waitForTurn!(closing.signal);
    closing.abort();
    expect(await waiting).toBe(false);
  });

  it('lets 20 calls wait for their turns on one closing signal without a MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const shared = key();
      const pacer = createCallPacer(redis, shared, 1, 60_000);
      const closing = new AbortController();
      // A worker at concurrency 20: every call but the first waits for a turn minutes away.
      const [seconds, micros] = await redis.time();
      const before = Number(seconds) * 1000 + Number(micros) / 1000;
      const waits = Array.from({ length: 20 }, () => pacer.waitForTurn!(closing.signal));
      // Every call has taken its turn, the last 19 intervals after the first, and waits for it.
      await until(() => redis.get(shared), (turn) => Number(turn) >= before + 19 * pacer.intervalMs);
      await new Promise((resolve) => setImmediate(resolve));
      closing.abort();
      expect((await Promise.all(waits)).filter((placed) => placed).length).toBe(1);
      // Node reports the warning on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it("leaves pacing to BullMQ's 1-ms windows above 1,000 calls a second", () => {
    expect(createCallPacer(redis, key(), 1_000_000, 1_000)).toEqual({ fetchLimit: { max: 990, duration: 1 }, intervalMs: 1_010 / 1_000_000 });
  });

  it('fetches a little faster than the turns, so that the turns set the pace', () => {
    // 20.2 ms turns: 3 fetches per 50 ms.
    expect(createCallPacer(redis, key(), 50, 1_000).fetchLimit).toEqual({ max: 3, duration: 50 });
    // 6,060 ms turns: one fetch per 6,058 ms.
    expect(createCallPacer(redis, key(), 10, 60_000).fetchLimit).toEqual({ max: 1, duration: 6_058 });
  });
});
