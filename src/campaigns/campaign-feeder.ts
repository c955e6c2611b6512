import type { Queue } from 'bullmq';
import type { CallLog } from '../call-log/call-log-writer.js';
import { callJob, type CallJobData, type CallJobPolicy } from '../jobs/call-jobs.js';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { redisScriptOfKeys } from '../lib/redis.js';
import type { Logger } from '../logger.js';
import { contactCall, type Campaign, type CampaignEvents } from './campaign-definition.js';
import { campaignKeys, contactJobId, pendingEntry } from './campaign-keys.js';
import { CONTACT_JOB_ID_LUA, SET_CAMPAIGN_STATE_LUA } from './campaign-lua.js';
import { decodeContact } from './contact-list.js';

/**
 * Takes contacts from running campaigns' lists for the call queue, as many as the hopper has room
 * for, in weighted fair order (start-time fair queueing: each campaign's tag grows by 1/rateShare a
 * contact, and the lowest tag goes next; a campaign that was idle starts at the current virtual
 * time, so it cannot save up a burst). With several campaigns wanting slots, one that uses the
 * agent is held to its share of MAX_CONCURRENT_CALLS (by slotShare), counting its contacts claimed:
 * fed and not yet past their dial (in the hopper, waiting for a slot, dialing, live). Each contact taken is noted in `feeding` until its job is added.
 * Also answers the running campaigns past their end, and completes those with nothing left to do
 * (nothing pending, fed, deferred, dialing or live, and no change for the grace period).
 * KEYS: the virtual time, the feeding set, the running set, the states hash, then 6 per running
 * campaign: its hash, pending list, contacts, hopper, claimed set and counts. ARGV: now ms, now ISO,
 * hopper size, max slots, max contacts per call, grace ms, the changes channel, then the campaigns'
 * ids in the order of their keys (one no longer running is passed over).
 * Returns { fed: [campaign, round, key, contact JSON, job id, sequence]..., ended ids, completed ids }.
 */
const FEED = `${CONTACT_JOB_ID_LUA}${SET_CAMPAIGN_STATE_LUA}
local vkey, feeding, runningKey, statesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, nowIso, hopperSize, maxSlots, maxFeed, grace, channel = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local V = tonumber(redis.call('GET', vkey) or '0')
local total, wanting, ended, completed = 0, {}, {}, {}
local function open_contacts(counts)
  local open, fields = 0, redis.call('HGETALL', counts)
  for i = 1, #fields, 2 do
    local name = fields[i]
    if name == 'pending' or name == 'dialing' or name == 'live' or string.sub(name, 1, 9) == 'deferred:' then open = open + tonumber(fields[i + 1]) end
  end
  return open
end
for c = 8, #ARGV do
  local id, at = ARGV[c], (c - 8) * 6 + 4
  local base, pendingKey, contacts, hopperKey, claimed, counts = KEYS[at + 1], KEYS[at + 2], KEYS[at + 3], KEYS[at + 4], KEYS[at + 5], KEYS[at + 6]
  if redis.call('SISMEMBER', runningKey, id) == 1 then
    local f = redis.call('HMGET', base, 'rateShare', 'slotShare', 'usesSlots', 'startAt', 'endAt', 'vtime', 'lastChange')
    local hopper = redis.call('SCARD', hopperKey)
    total = total + hopper
    local pending = redis.call('LLEN', pendingKey)
    if f[5] and f[5] ~= '' and now >= tonumber(f[5]) then
      if pending > 0 then ended[#ended + 1] = id end
    elseif not f[4] or f[4] == '' or now >= tonumber(f[4]) then
      if pending > 0 then
        wanting[#wanting + 1] = { id = id, base = base, pendingKey = pendingKey, contacts = contacts, hopperKey = hopperKey, claimed = claimed,
          share = tonumber(f[1]) or 1, slotShare = tonumber(f[2]) or 1, usesSlots = f[3] == '1',
          tag = math.max(tonumber(f[6] or '0') or 0, V), pending = pending, inflight = redis.call('SCARD', claimed) }
      end
    end
    if pending == 0 and hopper == 0 and now - tonumber(f[7] or '0') >= grace and open_contacts(counts) == 0 then
      set_campaign_state(base, statesKey, runningKey, channel, id, 'completed', nowIso, now)
      completed[#completed + 1] = id
    end
  end
end
local fed = {}
local room = math.min(hopperSize - total, maxFeed)
if room > 0 and #wanting > 0 then
  local slotUsers, slotWeights = 0, 0
  for _, c in ipairs(wanting) do if c.usesSlots then slotUsers, slotWeights = slotUsers + 1, slotWeights + c.slotShare end end
  for _, c in ipairs(wanting) do
    if c.usesSlots and slotUsers > 1 then c.cap = math.max(1, math.floor(maxSlots * c.slotShare / slotWeights)) end
  end
  while #fed < room * 6 do
    local best = nil
    for _, c in ipairs(wanting) do
      if c.pending > 0 and (not c.cap or c.inflight < c.cap) and (best == nil or c.tag < best.tag or (c.tag == best.tag and c.id < best.id)) then best = c end
    end
    if best == nil then break end
    local entry = redis.call('LPOP', best.pendingKey)
    if not entry then
      best.pending = 0
    else
      best.pending = best.pending - 1
      local bar = string.find(entry, '|', 1, true)
      local round, key = string.sub(entry, 1, bar - 1), string.sub(entry, bar + 1)
      local contact = redis.call('HGET', best.contacts, key)
      if contact then
        local job = contact_job_id(best.id, key, round)
        V = best.tag
        best.tag = best.tag + 1 / best.share
        best.inflight = best.inflight + 1
        redis.call('SADD', best.hopperKey, job)
        redis.call('SADD', best.claimed, key)
        redis.call('ZADD', feeding, now, best.id .. '|' .. entry)
        local sequence = redis.call('HINCRBY', best.base, 'sequence', 1)
        for _, value in ipairs({ best.id, round, key, contact, job, sequence }) do fed[#fed + 1] = value end
      end
    end
  end
  for _, c in ipairs(wanting) do redis.call('HSET', c.base, 'vtime', tostring(c.tag)) end
  redis.call('SET', vkey, tostring(V))
end
return { fed, ended, completed }
`;

export interface FeederOptions {
  /** Contacts fed and not yet taken by a worker, across campaigns: small, so a pause or a new campaign's share takes effect at once. */
  hopperSize: number;
  maxConcurrentCalls: number;
  /** How long a campaign with nothing left to do stays running, for a redial to be scheduled after a final status. */
  completeGraceMs: number;
  /** A contact noted as feeding this long ago whose job may not have been added (its feeder died): added again (same job id). */
  staleFeedingMs: number;
}

export interface FeederDeps {
  redis: Redis;
  prefix: string;
  callQueue: Queue<CallJobData>;
  policy: CallJobPolicy;
  callLog: CallLog;
  campaigns: { get(id: string): Promise<Campaign | undefined> };
  /** Contacts left in a list when their campaign ended: they expire. */
  expireRest: (campaignId: string) => Promise<void>;
  events?: CampaignEvents;
  now?: () => number;
  logger: Logger;
}

const MAX_FEED_PER_CALL = 500;

/** A contact taken from its campaign's list for the call queue: campaign, round, contact key, contact JSON, job id, place in the feed. */
type FedContact = [campaignId: string, round: number, key: string, contact: string, jobId: string, sequence: number];

/** One feeding round: contacts to jobs, within the hopper, fairly. Safe to run from every worker at once. */
export function createCampaignFeeder(deps: FeederDeps, options: FeederOptions) {
  const { redis, prefix, callQueue, policy, callLog, campaigns, logger, now = Date.now } = deps;
  const keys = campaignKeys(prefix);
  const feed = redisScriptOfKeys(redis, 'switchboardFeedCampaigns', FEED);

  /** Adds the jobs of contacts taken from lists: `entries` are [campaign, round, key, contact JSON, job id, sequence]. */
  const addJobs = async (entries: FedContact[]) => {
    const byCampaign = new Map<string, Campaign | undefined>();
    for (const [campaignId] of entries) if (!byCampaign.has(campaignId)) byCampaign.set(campaignId, await campaigns.get(campaignId));
    const jobs = entries.flatMap(([campaignId, round, key, contact, jobId, sequence]) => {
      const campaign = byCampaign.get(campaignId);
      if (!campaign) return [];
      const data = contactCall(campaign, decodeContact(key, contact), round, sequence);
      return [{ ...callJob(policy, data, { jobId }), member: `${campaignId}|${round}|${key}` }];
    });
    if (jobs.length === 0) return;
    await callQueue.addBulk(jobs.map(({ name, data, opts }) => ({ name, data, opts })));
    await callLog.scheduled(jobs.map(({ data, opts }) => ({ jobId: opts.jobId!, data })));
    await redis.zrem(keys.feeding, ...jobs.map(({ member }) => member));
  };

  /** Contacts whose feeder died between taking them and adding their jobs: added now, under the same ids. */
  const recoverStale = async () => {
    const stale = await redis.zrangebyscore(keys.feeding, '-inf', now() - options.staleFeedingMs, 'LIMIT', 0, MAX_FEED_PER_CALL);
    if (stale.length === 0) return;
    // Each member is `campaign|round|key`: the campaign, then the entry it took from that campaign's list.
    const taken = stale.map((member) => ({ member, campaignId: member.slice(0, member.indexOf('|')), ...pendingEntry(member.slice(member.indexOf('|') + 1)) }));
    const pipeline = redis.pipeline();
    for (const { campaignId, key } of taken) pipeline.hget(keys.contacts(campaignId), key);
    const contacts = ((await pipeline.exec()) ?? []).map(([, contact]) => contact as string | null);
    const gone = taken.filter((_, index) => contacts[index] === null).map(({ member }) => member);
    if (gone.length > 0) await redis.zrem(keys.feeding, ...gone);
    const entries = taken.flatMap(({ campaignId, round, key }, index): FedContact[] => {
      const contact = contacts[index];
      return contact === null || contact === undefined ? [] : [[campaignId, round, key, contact, contactJobId(campaignId, key, round), 0]];
    });
    if (entries.length === 0) return;
    logger.warn({ contacts: entries.length }, 'campaign contacts taken by a feeder that stopped: adding their jobs');
    await addJobs(entries);
  };

  return {
    /** One round; answers how many contacts it fed. */
    async feedOnce(): Promise<number> {
      await recoverStale();
      // The running campaigns, read first: the script declares each one's keys, and passes over one no longer running.
      const running = await redis.smembers(keys.running);
      if (running.length === 0) return 0;
      const declared = [keys.virtualTime, keys.feeding, keys.running, keys.states];
      for (const id of running) declared.push(keys.campaign(id), keys.pending(id), keys.contacts(id), keys.hopper(id), keys.claimed(id), keys.counts(id));
      const at = now();
      const [fed, ended, completed] = (await feed(declared, [at, new Date(at).toISOString(), options.hopperSize, options.maxConcurrentCalls, MAX_FEED_PER_CALL, options.completeGraceMs, keys.changes, ...running])) as [
        string[],
        string[],
        string[],
      ];
      const entries: FedContact[] = [];
      for (let index = 0; index < fed.length; index += 6) {
        entries.push([fed[index]!, Number(fed[index + 1]), fed[index + 2]!, fed[index + 3]!, fed[index + 4]!, Number(fed[index + 5])]);
      }
      await addJobs(entries);
      for (const id of completed) {
        logger.info({ campaignId: id }, 'campaign completed');
        if (deps.events?.wanted()) await deps.events.changed((await campaigns.get(id)) ?? { id, name: id }, 'running', 'completed');
      }
      for (const id of ended) await deps.expireRest(id);
      return entries.length;
    },
  };
}

export type CampaignFeeder = ReturnType<typeof createCampaignFeeder>;
