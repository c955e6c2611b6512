import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './report.js';

export interface LoadResult {
  perSecond: number;
  p50: number;
  p99: number;
}

/** `count` operations, `concurrency` at a time: operations per second and latencies (ms). */
export async function concurrently(count: number, concurrency: number, operation: (index: number) => Promise<unknown>): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let index = next++; index < count; index = next++) {
        const t = performance.now();
        await operation(index);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { perSecond: count / ((performance.now() - started) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Starts `operation` `rate` times a second for `seconds`, whatever the earlier ones are doing: latencies (ms). */
export async function atFixedRate(rate: number, seconds: number, operation: () => Promise<unknown>): Promise<LoadResult> {
  const latencies: number[] = [];
  const running: Array<Promise<unknown>> = [];
  const total = rate * seconds;
  const started = performance.now();
  for (let issued = 0; issued < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; issued < due; issued++) {
      const t = performance.now();
      running.push(operation().then(() => latencies.push(performance.now() - t)));
    }
    await sleep(1);
  }
  await Promise.all(running);
  return { perSecond: total / ((performance.now() - started) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Checks `done` every `intervalMs` until it holds, or fails after `timeoutMs`. */
export async function until(done: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}
