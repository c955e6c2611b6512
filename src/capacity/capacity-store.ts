import type { RedisConnection as Redis } from '../lib/redis.js';
import { redisScript } from '../lib/redis.js';
import { holderForCall } from './slot-holders.js';

/**
 * Live-call capacity, shared by every process through Redis.
 *
 * A slot is a lease: a holder (see slot-holders.ts) with an expiry. Holders renew it while their call lives and release it when it ends; a
 * holder whose process died, or whose final callback was lost, loses it when the lease runs out.
 * Callers waiting for a slot sit in one priority queue (VIP, normal, low; FIFO within a level), and
 * a freed slot goes straight to the first of them, atomically, before any outbound job can take it.
 */

export type HolderKind = 'inbound' | 'outbound' | 'callback';

export interface SlotHolder {
  holder: string;
  kind: HolderKind;
  callSid?: string;
  jobId?: string;
  since: string;
  expiresAt: string;
}

export const WAITER_PRIORITIES = { vip: 0, normal: 1, low: 2 } as const;
export type WaiterPriority = keyof typeof WAITER_PRIORITIES;

export interface Waiter {
  /** The inbound call's SID: a waiter keeps it even after hanging up for a callback. */
  callSid: string;
  from: string;
  priority: WaiterPriority;
  enqueuedAt: string;
  queueSid?: string;
  /** True once the caller chose to be called back instead of holding. */
  callback: boolean;
}

/** A waiter that was just given a slot: it must now be connected (or called back). */
export type Dispatch = Waiter & { holder: string };

const PRIORITY_SPAN = 1e13;

/**
 * Drops expired leases, then hands free slots to waiting callers in order, noting each in the
 * served list. Shared by every script. KEYS: leases, holders, waiting, dispatching, waiters, served.
 * A waiter's holder is `call:<CallSid>`, as holderForCall writes it.
 */
const PURGE_AND_DISPATCH = `
local function purge_and_dispatch(leases, holders, waiting, dispatching, waiters, served, now, max, leaseMs)
  local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  for _, holder in ipairs(expired) do redis.call('HDEL', holders, holder) end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', leases, '-inf', now) end
  local dispatched = {}
  while redis.call('ZCARD', leases) < max do
    local top = redis.call('ZPOPMIN', waiting)
    if #top == 0 then break end
    local callSid = top[1]
    local holder = 'call:' .. callSid
    local waiter = redis.call('HGET', waiters, callSid)
    local callback = waiter and cjson.decode(waiter).callback == true or false
    redis.call('ZADD', leases, now + leaseMs, holder)
    redis.call('HSET', holders, holder, cjson.encode({ kind = callback and 'callback' or 'inbound', callSid = callSid, since = now }))
    redis.call('ZADD', dispatching, now, callSid)
    redis.call('LPUSH', served, cjson.encode({ callSid = callSid, callback = callback, at = now }))
    redis.call('LTRIM', served, 0, 99)
    table.insert(dispatched, callSid)
  end
  return dispatched
end
`;

/** ARGV: holder, info JSON, max, now, leaseMs. Returns {acquired (0/1), dispatched...}. */
const ACQUIRE = `${PURGE_AND_DISPATCH}
local now, max, leaseMs = tonumber(ARGV[4]), tonumber(ARGV[3]), tonumber(ARGV[5])
local dispatched = purge_and_dispatch(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], now, max, leaseMs)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + leaseMs, ARGV[1])
  return { 1, unpack(dispatched) }
end
-- Callers waiting (or being connected) come first: nobody jumps the queue.
if redis.call('ZCARD', KEYS[3]) > 0 or redis.call('ZCARD', KEYS[1]) >= max then
  return { 0, unpack(dispatched) }
end
redis.call('ZADD', KEYS[1], now + leaseMs, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return { 1, unpack(dispatched) }
`;

/** ARGV: holder, max, now, leaseMs. Returns {released (0/1), dispatched...}. A `call:` holder leaves the dispatching set. */
const RELEASE = `${PURGE_AND_DISPATCH}
local released = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], string.sub(ARGV[1], 6))
local dispatched = purge_and_dispatch(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], tonumber(ARGV[3]), tonumber(ARGV[2]), tonumber(ARGV[4]))
return { released, unpack(dispatched) }
`;

/** KEYS: waiting, waiters. ARGV: callSid, score, waiter JSON. Returns the caller's position (1-based). */
const ENQUEUE = `
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], 'NX', tonumber(ARGV[2]), ARGV[1])
return redis.call('ZRANK', KEYS[1], ARGV[1]) + 1
`;

/** KEYS: waiters. ARGV: callSid, JSON of the fields to change. */
const UPDATE_WAITER = `
local waiter = cjson.decode(redis.call('HGET', KEYS[1], ARGV[1]) or '{}')
for field, value in pairs(cjson.decode(ARGV[2])) do waiter[field] = value end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(waiter))
`;

/** A waiter as the waiters hash keeps it, under its call SID. */
type StoredWaiter = Partial<Omit<Waiter, 'callSid'>>;

export interface CapacityStoreOptions {
  prefix: string;
  maxSlots: number;
  leaseMs: number;
  clock?: () => number;
}

export function createCapacityStore(redis: Redis, options: CapacityStoreOptions) {
  const base = `${options.prefix}:capacity`;
  const keys = {
    leases: `${base}:leases`,
    holders: `${base}:holders`,
    waiting: `${base}:waiting`,
    dispatching: `${base}:dispatching`,
    /** Every waiter's details in one hash, by call SID, so that scripts declare the one key. */
    waiters: `${base}:waiters`,
    handleTimes: `${base}:handle-times`,
    served: `${base}:served`,
    events: `${base}:events`,
    reconcileTurn: `${base}:reconcile-lock`,
  };
  const scriptKeys = [keys.leases, keys.holders, keys.waiting, keys.dispatching, keys.waiters, keys.served] as const;
  const acquire = redisScript(redis, 'switchboardCapacityAcquire', scriptKeys.length, ACQUIRE);
  const release = redisScript(redis, 'switchboardCapacityRelease', scriptKeys.length, RELEASE);
  const enqueue = redisScript(redis, 'switchboardCapacityEnqueue', 2, ENQUEUE);
  const updateWaiter = redisScript(redis, 'switchboardCapacityUpdateWaiter', 1, UPDATE_WAITER);
  const now = options.clock ?? Date.now;

  const toWaiter = (callSid: string, json: string | null | undefined): Waiter | undefined => {
    if (!json) return undefined;
    const stored = JSON.parse(json) as StoredWaiter;
    return {
      callSid,
      from: stored.from ?? '',
      priority: stored.priority ?? 'normal',
      enqueuedAt: stored.enqueuedAt ?? new Date(0).toISOString(),
      ...(stored.queueSid && { queueSid: stored.queueSid }),
      callback: stored.callback === true,
    };
  };

  const waitersOf = async (callSids: string[]): Promise<Array<Waiter | undefined>> => {
    if (callSids.length === 0) return [];
    const stored = await redis.hmget(keys.waiters, ...callSids);
    return callSids.map((callSid, index) => toWaiter(callSid, stored[index]));
  };

  const dispatchesOf = async (callSids: string[]): Promise<Dispatch[]> =>
    (await waitersOf(callSids)).filter((waiter) => waiter !== undefined).map((waiter) => ({ ...waiter, holder: holderForCall(waiter.callSid) }));

  const split = async (result: unknown): Promise<{ ok: boolean; dispatches: Dispatch[] }> => {
    const [flag, ...dispatched] = result as [number, ...string[]];
    return { ok: flag === 1, dispatches: await dispatchesOf(dispatched) };
  };

  return {
    maxSlots: options.maxSlots,

    /** Takes a slot if one is free and nobody waits for it. Also hands expired slots to waiters. */
    async acquire(holder: string, info: Omit<SlotHolder, 'holder' | 'since' | 'expiresAt'>) {
      const result = await acquire(
        ...scriptKeys,
        holder,
        JSON.stringify({ ...info, since: now() }),
        options.maxSlots,
        now(),
        options.leaseMs,
      );
      return split(result);
    },

    /** Frees a slot (idempotent) and gives free slots to the first waiters, who must now be dispatched. */
    async release(holder: string) {
      const result = await release(...scriptKeys, holder, options.maxSlots, now(), options.leaseMs);
      const { ok, dispatches } = await split(result);
      // A release that freed nothing (the call's end reported twice: by Twilio and by the agent) wakes nobody.
      if (ok) await redis.publish(keys.events, 'freed');
      return { released: ok, dispatches };
    },

    /** Calls `listener` whenever a slot is freed, by any process, until `subscriber` disconnects. */
    async onFreed(subscriber: Redis, listener: () => void): Promise<void> {
      subscriber.on('message', (channel: string) => {
        if (channel === keys.events) listener();
      });
      await subscriber.subscribe(keys.events);
    },

    /** True for one caller per `periodMs` across every process. */
    async claimReconcileTurn(periodMs: number): Promise<boolean> {
      return (await redis.set(keys.reconcileTurn, '1', 'PX', periodMs, 'NX')) === 'OK';
    },

    /** Whether `holder` holds a slot whose lease has not run out. */
    async holds(holder: string): Promise<boolean> {
      const expiry = await redis.zscore(keys.leases, holder);
      return expiry !== null && Number(expiry) > now();
    },

    /** Extends a live call's lease; false when the holder has none (it ended or expired). */
    async renew(holder: string): Promise<boolean> {
      const updated = await redis.zadd(keys.leases, 'XX', 'CH', now() + options.leaseMs, holder);
      return updated === 1 || (await redis.zscore(keys.leases, holder)) !== null;
    },

    /** Puts an inbound caller in line; returns their position. */
    async enqueue(waiter: Waiter): Promise<number> {
      const score = WAITER_PRIORITIES[waiter.priority] * PRIORITY_SPAN + Date.parse(waiter.enqueuedAt);
      const { callSid, ...stored } = waiter;
      return Number(await enqueue(keys.waiting, keys.waiters, callSid, score, JSON.stringify(stored satisfies StoredWaiter)));
    },

    async waiter(callSid: string): Promise<Waiter | undefined> {
      return toWaiter(callSid, await redis.hget(keys.waiters, callSid));
    },

    async updateWaiter(callSid: string, fields: Partial<Pick<Waiter, 'queueSid' | 'callback'>>) {
      const changes = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
      if (Object.keys(changes).length > 0) await updateWaiter(keys.waiters, callSid, JSON.stringify(changes));
    },

    /** 1-based place in line, or undefined when not waiting (connected, or gone). */
    async position(callSid: string): Promise<number | undefined> {
      const rank = await redis.zrank(keys.waiting, callSid);
      return rank === null ? undefined : rank + 1;
    },

    /** A caller who hung up without asking for a callback leaves the line. */
    async leave(callSid: string): Promise<void> {
      await redis.multi().zrem(keys.waiting, callSid).hdel(keys.waiters, callSid).exec();
    },

    /** The waiter has been connected or called back: forget the pending dispatch. */
    async dispatched(callSid: string): Promise<void> {
      await redis.multi().zrem(keys.dispatching, callSid).hdel(keys.waiters, callSid).exec();
    },

    /** Dispatches that were handed out but not finished (the process died) for `olderThanMs`. */
    async staleDispatches(olderThanMs: number): Promise<Dispatch[]> {
      return dispatchesOf(await redis.zrangebyscore(keys.dispatching, '-inf', now() - olderThanMs));
    },

    async holders(): Promise<SlotHolder[]> {
      const [leases, infos] = await Promise.all([redis.zrange(keys.leases, '0', '-1', 'WITHSCORES'), redis.hgetall(keys.holders)]);
      const result: SlotHolder[] = [];
      for (let i = 0; i < leases.length; i += 2) {
        const holder = leases[i]!;
        const info = JSON.parse(infos[holder] ?? '{}') as { kind?: HolderKind; callSid?: string; jobId?: string; since?: number };
        result.push({
          holder,
          kind: info.kind ?? 'outbound',
          ...(info.callSid && { callSid: info.callSid }),
          ...(info.jobId && { jobId: info.jobId }),
          since: new Date(info.since ?? 0).toISOString(),
          expiresAt: new Date(Number(leases[i + 1])).toISOString(),
        });
      }
      return result;
    },

    /** The last 100 waiting callers given a slot, most recent first. */
    async recentlyServed(): Promise<Array<{ callSid: string; callback: boolean; at: string }>> {
      return (await redis.lrange(keys.served, '0', '99')).map((entry) => {
        const served = JSON.parse(entry) as { callSid: string; callback: boolean; at: number };
        return { ...served, at: new Date(served.at).toISOString() };
      });
    },

    async counts() {
      const [inUse, waiting, callbacks] = await Promise.all([
        redis.zcount(keys.leases, String(now()), '+inf'),
        redis.zcard(keys.waiting),
        this.callbacksPending(),
      ]);
      return { inUse, free: Math.max(0, options.maxSlots - inUse), waiting, callbacks };
    },

    /** The first `limit` callers in line, in their order. */
    async line(limit: number): Promise<Waiter[]> {
      const callSids = await redis.zrange(keys.waiting, '0', String(limit - 1));
      return (await waitersOf(callSids)).filter((waiter): waiter is Waiter => waiter !== undefined);
    },

    async callbacksPending(): Promise<number> {
      const waiters = await waitersOf(await redis.zrange(keys.waiting, '0', '-1'));
      return waiters.filter((waiter) => waiter?.callback).length;
    },

    /** Keeps the last 100 handle times (call durations, seconds) for wait estimates. */
    async recordHandleTime(seconds: number) {
      if (!(seconds > 0)) return;
      await redis.multi().lpush(keys.handleTimes, String(Math.round(seconds))).ltrim(keys.handleTimes, '0', '99').exec();
    },

    async averageHandleTime(): Promise<number | undefined> {
      const values = (await redis.lrange(keys.handleTimes, '0', '99')).map(Number);
      return values.length === 0 ? undefined : values.reduce((sum, value) => sum + value, 0) / values.length;
    },
  };
}

export type CapacityStore = ReturnType<typeof createCapacityStore>;
