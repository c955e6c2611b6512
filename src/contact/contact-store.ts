import type { RedisConnection as Redis } from '../lib/redis.js';
import { redisScript } from '../lib/redis.js';

/** A do-not-call entry: a number, or a prefix (`+1415*`: an area code; `+44*`: a whole country). */
export interface DncEntry {
  /** `+14155550123`, or a prefix ending in `*`. */
  key: string;
  reason: string | null;
  /** Who put it there: `api`, `import`, `keypress`… */
  source: string;
  addedAt: string;
  expiresAt: string | null;
}

/** What Redis says of one number: its do-not-call entry, and its recent dials. */
export interface ContactFacts {
  /** The entry that blocks the number, if any (its own, or a prefix's). */
  dnc: DncEntry | null;
  /** Dials to the number within the cap's window, and the last one (ms), counted across every worker. */
  dialsInWindow: number;
  lastDialAt: number | null;
  /** Until when the cap or the gap holds the number back (ms), and which. */
  heldUntil: number | null;
  heldBy: 'frequency-cap' | 'min-gap' | null;
}

export interface FrequencyLimits {
  /** At most `count` dials per `windowMs` (count 0: no cap). */
  cap: { count: number; windowMs: number } | null;
  minGapMs: number;
}

/** Dials are remembered at least a day, or as long as the longest window that counts them. */
const KEEP_DIALS_MS = 24 * 3600 * 1000;

/**
 * One round trip for everything Redis knows of a number at dial time. KEYS: the do-not-call hash,
 * the number's dials. ARGV: number, now, cap count (0: none), cap window ms, min gap ms (0: none),
 * gap exempt (0/1), dial (0/1: when nothing holds the number back, count this dial), member, keep ms.
 * Returns: blocking field or '', its entry or '', dials in window, last dial or '', held until or '', held by or '', dialed (0/1).
 */
const CHECK = `
local number, now = ARGV[1], tonumber(ARGV[2])
local capCount, capWindow, minGap, exempt = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local fields = { number }
for i = 2, #number - 1 do fields[#fields + 1] = string.sub(number, 1, i) .. '*' end
local entries = redis.call('HMGET', KEYS[1], unpack(fields))
for i = 1, #fields do
  local entry = entries[i]
  if entry then
    local expires = cjson.decode(entry).e
    if expires == nil or expires == cjson.null or tonumber(expires) > now then
      return { fields[i], entry, 0, '', '', '', 0 }
    end
  end
end
local keep = tonumber(ARGV[9])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - keep)
local window = capCount > 0 and redis.call('ZRANGEBYSCORE', KEYS[2], now - capWindow, '+inf', 'WITHSCORES') or {}
local count = #window / 2
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2]
local heldUntil, heldBy = nil, ''
if capCount > 0 and count >= capCount then
  heldUntil = tonumber(window[(count - capCount) * 2 + 2]) + capWindow
  heldBy = 'frequency-cap'
end
if minGap > 0 and not exempt and last and tonumber(last) + minGap > now and (heldUntil == nil or tonumber(last) + minGap > heldUntil) then
  heldUntil = tonumber(last) + minGap
  heldBy = 'min-gap'
end
if heldUntil == nil and ARGV[7] == '1' then
  redis.call('ZADD', KEYS[2], now, ARGV[8])
  redis.call('PEXPIRE', KEYS[2], keep)
  return { '', '', count + 1, tostring(now), '', '', 1 }
end
return { '', '', count, last or '', heldUntil and tostring(heldUntil) or '', heldBy, 0 }
`;

interface StoredEntry {
  r: string | null;
  s: string;
  a: number;
  e: number | null;
}

const encode = (entry: Omit<DncEntry, 'key'>): string =>
  JSON.stringify({ r: entry.reason, s: entry.source, a: Date.parse(entry.addedAt), e: entry.expiresAt === null ? null : Date.parse(entry.expiresAt) } satisfies StoredEntry);

const decode = (key: string, text: string): DncEntry => {
  const stored = JSON.parse(text) as StoredEntry;
  return { key, reason: stored.r, source: stored.s, addedAt: new Date(stored.a).toISOString(), expiresAt: stored.e === null ? null : new Date(stored.e).toISOString() };
};

/** Do-not-call entries and recent dials per number, in Redis, for every worker at once. */
export function createContactStore(redis: Redis, prefix: string) {
  const dncKey = `${prefix}:contact:dnc`;
  const dialsKey = (number: string) => `${prefix}:contact:dials:${number}`;
  const check = redisScript(redis, 'switchboardContactCheck', 2, CHECK);
  const live = (entry: DncEntry, now: number) => entry.expiresAt === null || Date.parse(entry.expiresAt) > now;

  return {
    /**
     * What blocks or holds back `number` now; with `dial`, a dial that nothing holds back is counted
     * in the same step, so two workers can never both take the last dial a cap allows.
     */
    async facts(number: string, now: number, limits: FrequencyLimits, options: { dial: boolean; member: string; gapExempt: boolean }): Promise<ContactFacts & { dialed: boolean }> {
      const keepMs = Math.max(KEEP_DIALS_MS, limits.cap?.windowMs ?? 0, limits.minGapMs);
      const [field, entry, count, last, heldUntil, heldBy, dialed] = (await check(
        dncKey,
        dialsKey(number),
        number,
        now,
        limits.cap?.count ?? 0,
        limits.cap?.windowMs ?? 0,
        limits.minGapMs,
        options.gapExempt ? 1 : 0,
        options.dial ? 1 : 0,
        options.member,
        keepMs,
      )) as [string, string, number, string, string, string, number];
      return {
        dnc: field ? decode(field, entry) : null,
        dialsInWindow: Number(count),
        lastDialAt: last ? Number(last) : null,
        heldUntil: heldUntil ? Number(heldUntil) : null,
        heldBy: (heldBy || null) as ContactFacts['heldBy'],
        dialed: Number(dialed) === 1,
      };
    },

    async putDnc(entry: DncEntry): Promise<void> {
      await redis.hset(dncKey, entry.key, encode(entry));
    },

    /** Adds many entries in pipelines; returns how many were new. */
    async putManyDnc(entries: DncEntry[]): Promise<number> {
      if (entries.length === 0) return 0;
      const pipeline = redis.pipeline();
      for (const entry of entries) pipeline.hset(dncKey, entry.key, encode(entry));
      const results = (await pipeline.exec()) ?? [];
      return results.reduce((added, [error, value]) => {
        if (error) throw error;
        return added + Number(value);
      }, 0);
    },

    async removeDnc(key: string): Promise<boolean> {
      return (await redis.hdel(dncKey, key)) === 1;
    },

    /** The entry under `key`, if it has not expired. */
    async getDnc(key: string, now = Date.now()): Promise<DncEntry | undefined> {
      const text = await redis.hget(dncKey, key);
      const entry = text ? decode(key, text) : undefined;
      return entry && live(entry, now) ? entry : undefined;
    },

    /** A page of entries (expired ones left out), and the cursor of the next page ('0' after the last). */
    async listDnc(cursor: string, count: number, now = Date.now()): Promise<{ entries: DncEntry[]; cursor: string }> {
      const [next, flat] = await redis.hscan(dncKey, cursor, 'COUNT', count);
      const entries: DncEntry[] = [];
      for (let index = 0; index < flat.length; index += 2) {
        const entry = decode(flat[index]!, flat[index + 1]!);
        if (live(entry, now)) entries.push(entry);
      }
      return { entries, cursor: next };
    },

    countDnc: (): Promise<number> => redis.hlen(dncKey),
  };
}

export type ContactStore = ReturnType<typeof createContactStore>;
