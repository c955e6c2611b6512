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
  /** At most `count` dials per `windowMs`, for each cap that applies (the configured one, a call's own). */
  caps: Array<{ count: number; windowMs: number }>;
  minGapMs: number;
}

/**
 * Lua: \`dnc_entry(hash, number, now)\` answers the field (the number, or a prefix of it ending in *)
 * and the unexpired do-not-call entry that blocks the number, or nil.
 */
export const DNC_LOOKUP_LUA = `
local function dnc_entry(hash, number, now)
  local fields = { number }
  for i = 2, #number - 1 do fields[#fields + 1] = string.sub(number, 1, i) .. '*' end
  local entries = redis.call('HMGET', hash, unpack(fields))
  for i = 1, #fields do
    local entry = entries[i]
    if entry then
      local expires = cjson.decode(entry).e
      if expires == nil or expires == cjson.null or tonumber(expires) > now then return fields[i], entry end
    end
  end
  return nil
end
`;

/** The do-not-call list: number or prefix -> entry (JSON; `e` its expiry in ms, or null). */
export const dncHashKey = (prefix: string) => `${prefix}:contact:dnc`;

/** Dials are remembered at least a day, or as long as the longest window that counts them. */
const KEEP_DIALS_MS = 24 * 3600 * 1000;

/**
 * One round trip for everything Redis knows of a number at dial time. KEYS: the do-not-call hash,
 * the number's dials, how long its dials must be kept. ARGV: number, now, min gap ms (0: none), gap
 * exempt (0/1), dial (0/1: when nothing holds the number back, count this dial), member, keep ms,
 * then the number of caps and a count and window ms for each. Only a counted dial trims old dials,
 * never past the longest window any call has counted them for; an explanation changes nothing.
 * Returns: blocking field or '', its entry or '', dials in the first cap's window, last dial or '',
 * held until or '', held by or '', dialed (0/1).
 */
const CHECK = `${DNC_LOOKUP_LUA}
local number, now, minGap, exempt, dial, member, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1', ARGV[5] == '1', ARGV[6], tonumber(ARGV[7])
local blockedBy, entry = dnc_entry(KEYS[1], number, now)
if blockedBy then return { blockedBy, entry, 0, '', '', '', 0 } end
-- A dial counts every dial recorded, even one another worker stamped a moment later by its clock;
-- an explanation as of a given time counts those up to it.
local upTo = dial and '+inf' or now
local heldUntil, heldBy, count = nil, '', 0
for c = 1, tonumber(ARGV[8]) do
  local capCount, capWindow = tonumber(ARGV[7 + c * 2]), tonumber(ARGV[8 + c * 2])
  local window = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (now - capWindow), upTo, 'WITHSCORES')
  local n = #window / 2
  if c == 1 then count = n end
  if n >= capCount then
    local freed = tonumber(window[(n - capCount) * 2 + 2]) + capWindow
    if heldUntil == nil or freed > heldUntil then heldUntil, heldBy = freed, 'frequency-cap' end
  end
end
local last = redis.call('ZREVRANGEBYSCORE', KEYS[2], upTo, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)[2]
if minGap > 0 and not exempt and last and tonumber(last) + minGap > now and (heldUntil == nil or tonumber(last) + minGap > heldUntil) then
  heldUntil = tonumber(last) + minGap
  heldBy = 'min-gap'
end
if heldUntil == nil and dial then
  local kept = math.max(keep, tonumber(redis.call('GET', KEYS[3]) or '0'))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - kept)
  redis.call('ZADD', KEYS[2], now, member)
  redis.call('PEXPIRE', KEYS[2], kept)
  redis.call('SET', KEYS[3], kept, 'PX', kept)
  return { '', '', count + 1, tostring(now), '', '', 1 }
end
return { '', '', count, last or '', heldUntil and tostring(heldUntil) or '', heldBy, 0 }
`;

/** KEYS[1] the number's dials. ARGV: the member of a dial that placed no call after all. */
const FORGET_DIAL = `return redis.call('ZREM', KEYS[1], ARGV[1])`;

/**
 * Writes an entry without ever weakening one already there: an entry with no expiry keeps none, a
 * later expiry wins, and an opt-out the person made by keypress stays one. KEYS[1] the hash. ARGV:
 * key, entry JSON. Returns 1 when the key is new.
 */
const PUT_DNC = `
local incoming = cjson.decode(ARGV[2])
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  local stored = cjson.decode(existing)
  local storedE, incomingE = stored.e, incoming.e
  if storedE == nil or storedE == cjson.null or incomingE == nil or incomingE == cjson.null then
    incoming.e = cjson.null
  elseif tonumber(storedE) > tonumber(incomingE) then
    incoming.e = storedE
  end
  if stored.s == 'keypress' then
    incoming.s = 'keypress'
    incoming.r = stored.r
    incoming.a = stored.a
  end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(incoming))
if existing then return 0 end
return 1
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
/** `onDncAdded` is told of entries new to the list (not of ones that only strengthened an entry already there). */
export function createContactStore(redis: Redis, prefix: string, onDncAdded?: (entries: DncEntry[]) => Promise<void>) {
  const dncKey = dncHashKey(prefix);
  const dialsKey = (number: string) => `${prefix}:contact:dials:${number}`;
  const keepKey = (number: string) => `${prefix}:contact:dials-kept:${number}`;
  const check = redisScript(redis, 'switchboardContactCheck', 3, CHECK);
  const forgetDial = redisScript(redis, 'switchboardContactForgetDial', 1, FORGET_DIAL);
  const putDnc = redisScript(redis, 'switchboardPutDnc', 1, PUT_DNC);
  const live = (entry: DncEntry, now: number) => entry.expiresAt === null || Date.parse(entry.expiresAt) > now;

  return {
    /**
     * What blocks or holds back `number` now; with `dial`, a dial that nothing holds back is counted
     * in the same step, so two workers can never both take the last dial a cap allows.
     */
    async facts(number: string, now: number, limits: FrequencyLimits, options: { dial: boolean; member: string; gapExempt: boolean }): Promise<ContactFacts & { dialed: boolean }> {
      const keepMs = Math.max(KEEP_DIALS_MS, ...limits.caps.map((cap) => cap.windowMs), limits.minGapMs);
      const [field, entry, count, last, heldUntil, heldBy, dialed] = (await check(
        dncKey,
        dialsKey(number),
        keepKey(number),
        number,
        now,
        limits.minGapMs,
        options.gapExempt ? 1 : 0,
        options.dial ? 1 : 0,
        options.member,
        keepMs,
        limits.caps.length,
        ...limits.caps.flatMap((cap) => [cap.count, cap.windowMs]),
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

    /** A dial counted by `facts` that placed no call (the carrier refused it): it no longer counts. */
    async forgetDial(number: string, member: string): Promise<void> {
      await forgetDial(dialsKey(number), member);
    },

    /** Puts an entry on the list, never weakening one already there; true when the key is new. */
    async putDnc(entry: DncEntry): Promise<boolean> {
      const added = Number(await putDnc(dncKey, entry.key, encode(entry))) === 1;
      if (added) await onDncAdded?.([entry]);
      return added;
    },

    /** Adds many entries (sent together, each never weakening one already there); returns how many were new. */
    async putManyDnc(entries: DncEntry[]): Promise<number> {
      const added = await Promise.all(entries.map((entry) => putDnc(dncKey, entry.key, encode(entry))));
      const fresh = entries.filter((_, index) => Number(added[index]) === 1);
      if (fresh.length > 0) await onDncAdded?.(fresh);
      return fresh.length;
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
