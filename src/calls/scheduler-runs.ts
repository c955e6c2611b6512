import type { Queue } from 'bullmq';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { jobIds } from '../jobs/job-ids.js';


const SCAN_COUNT = 1000;
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/**
 * The runs of a recurring schedule that have not started, wherever they wait: the next run
 * (delayed until due, then waiting for a worker), and earlier runs sent back by a retry's backoff
 * or a stalled worker. Sets are read in the direction jobs move (delayed, then prioritized, then
 * the plain lists), so a run promoted while they are read is still found.
 */
export function createSchedulerRuns(redis: Redis, callQueue: Queue) {
  const scanSet = async (key: string, pattern: string): Promise<string[]> => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, entries] = await redis.zscan(key, cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      for (let index = 0; index < entries.length; index += 2) found.push(entries[index]!);
      cursor = next;
    } while (cursor !== '0');
    return found;
  };

  // Workers take from the tail and new jobs go to the head, so pages read from the head may repeat an id but never skip one.
  const scanList = async (key: string, prefix: string): Promise<string[]> => {
    const found: string[] = [];
    for (let start = 0; ; start += SCAN_COUNT) {
      const page = await redis.lrange(key, start, start + SCAN_COUNT - 1);
      found.push(...page.filter((jobId) => jobId.startsWith(prefix)));
      if (page.length < SCAN_COUNT) return found;
    }
  };

  return {
    async pending(schedulerId: string): Promise<string[]> {
      const prefix = jobIds.recurringRunPrefix(schedulerId);
      const pattern = `${globEscape(prefix)}*`;
      const { delayed, prioritized, wait, paused } = callQueue.keys;
      const found = [
        ...(await scanSet(delayed!, pattern)),
        ...(await scanSet(prioritized!, pattern)),
        ...(await scanList(wait!, prefix)),
        ...(await scanList(paused!, prefix)),
      ];
      return [...new Set(found)];
    },
  };
}

export type SchedulerRuns = ReturnType<typeof createSchedulerRuns>;
