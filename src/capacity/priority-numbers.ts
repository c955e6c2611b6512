import type { RedisConnection as Redis } from '../lib/redis.js';
import type { WaiterPriority } from './capacity-store.js';

export type NumberPriority = Exclude<WaiterPriority, 'normal'>;

/**
 * Callers who go first (VIP) or last (low): from configuration, plus those an operator sets through
 * the API, which live in Redis and win over configuration.
 */
export function createPriorityNumbers(redis: Redis, prefix: string, configuredVips: readonly string[]) {
  const key = `${prefix}:capacity:priority-numbers`;
  return {
    async of(number: string): Promise<WaiterPriority> {
      const set = (await redis.hget(key, number)) as NumberPriority | null;
      return set ?? (configuredVips.includes(number) ? 'vip' : 'normal');
    },
    async set(number: string, priority: NumberPriority): Promise<void> {
      await redis.hset(key, number, priority);
    },
    /** True when the number had a priority set through the API. */
    async remove(number: string): Promise<boolean> {
      return (await redis.hdel(key, number)) === 1;
    },
    async list(): Promise<Array<{ number: string; priority: NumberPriority; source: 'api' | 'config' }>> {
      const set = (await redis.hgetall(key)) as Record<string, NumberPriority>;
      const fromConfig = configuredVips.filter((number) => !(number in set)).map((number) => ({ number, priority: 'vip' as const, source: 'config' as const }));
      const fromApi = Object.entries(set).map(([number, priority]) => ({ number, priority, source: 'api' as const }));
      return [...fromApi, ...fromConfig].sort((a, b) => a.number.localeCompare(b.number));
    },
  };
}

export type PriorityNumbers = ReturnType<typeof createPriorityNumbers>;
