/**
 * Raw BullMQ's side of the campaign, in a process of its own so that its memory can be read:
 * `count` jobs added in chunks of `chunk` with addBulk. Prints the seconds it took and its peak memory as JSON.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PRIORITIES } from '../../src/jobs/call-jobs.js';
import { aCall, RAW_PREFIX, RAW_QUEUE_NAME } from '../support/context.js';

const [redisUrl, count, chunk] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue(RAW_QUEUE_NAME, { connection: redis, prefix: RAW_PREFIX });
// Wait for the word to start, so that the parent measures only the adding.
process.stdin.once('data', async () => {
  const started = performance.now();
  for (let first = 0; first < count; first += chunk) {
    const jobs = Array.from({ length: Math.min(chunk, count - first) }, (_, index) => ({
      name: 'call',
      data: { ...aCall, lead_id: String(first + index) },
      opts: { priority: PRIORITIES.normal },
    }));
    await queue.addBulk(jobs);
  }
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, peakMemoryBytes: process.resourceUsage().maxRSS * 1024 }));
  await queue.close();
  redis.disconnect();
  process.exit(0);
});
console.log('ready');
