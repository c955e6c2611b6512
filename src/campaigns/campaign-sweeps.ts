import type { Queue } from 'bullmq';
import type { CallLog } from '../call-log/call-log-writer.js';
import type { CallJobData } from '../jobs/call-jobs.js';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { redisScript } from '../lib/redis.js';
import type { Logger } from '../logger.js';
import { contactCall, type Campaign } from './campaign-definition.js';
import { campaignKeys, contactJobId, pendingEntry } from './campaign-keys.js';
import { parseContactState } from './campaign-progress.js';
import { CONTACT_JOB_ID_LUA, CONTACT_STATE_PARTS_LUA, SET_CAMPAIGN_STATE_LUA } from './campaign-lua.js';
import { decodeContact } from './contact-list.js';

/**
 * KEYS: the campaign, its contact states, its counts, its pending list, the states hash, the
 * running set. ARGV: campaign, now ms, now ISO, the states to take (space-separated), the changes
 * channel, then contact keys. Puts each contact still in one of those states back in the list for
 * one more pass (its round + 1, a new job), and a completed campaign back to running. Answers how
 * many it put back.
 */
const REQUEUE = `${CONTACT_JOB_ID_LUA}${SET_CAMPAIGN_STATE_LUA}${CONTACT_STATE_PARTS_LUA}
local base, states, counts, pending = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local campaign, now, nowIso, wanted, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3], ' ' .. ARGV[4] .. ' ', ARGV[5]
local taken = 0
for i = 6, #ARGV do
  local key = ARGV[i]
  local current = redis.call('HGET', states, key)
  if current then
    local parts = contact_state_parts(current)
    if string.find(wanted, ' ' .. parts[2] .. ' ', 1, true) then
      local round = tonumber(string.sub(parts[1], 1, 4)) + 1
      -- rowOrder(round, 0, 0, 0): after every row of the passes before
      local order = string.format('%04d.000.000.0000000000', round)
      redis.call('HSET', states, key, order .. '|pending|' .. parts[3] .. '|' .. parts[4] .. '|' .. contact_job_id(campaign, key, round) .. '|' .. now .. '|' .. (parts[7] or '') .. '|' .. (parts[8] or ''))
      redis.call('HINCRBY', counts, parts[2], -1)
      redis.call('HINCRBY', counts, 'pending', 1)
      redis.call('RPUSH', pending, round .. '|' .. key)
      taken = taken + 1
    end
  end
end
if taken > 0 then
  if redis.call('HGET', base, 'state') == 'completed' then set_campaign_state(base, KEYS[5], KEYS[6], channel, campaign, 'running', nowIso, now) else redis.call('HSET', base, 'lastChange', now) end
end
return taken
`;

const BATCH = 1000;

export interface SweepDeps {
  redis: Redis;
  prefix: string;
  callQueue: Queue<CallJobData>;
  callLog: CallLog;
  campaigns: { get(id: string): Promise<Campaign | undefined> };
  now?: () => number;
  logger: Logger;
}

/** Ends what a campaign has not dialed (cancel, end time) and puts contacts back for another pass (retry). */
export function createCampaignSweeps({ redis, prefix, callQueue, callLog, campaigns, now = Date.now, logger }: SweepDeps) {
  const keys = campaignKeys(prefix);
  const requeue = redisScript(redis, 'switchboardRequeueContacts', 6, REQUEUE);

  /** Every contact key and its state, a batch at a time. */
  async function* contactStates(campaignId: string): AsyncGenerator<Array<[string, string]>> {
    let cursor = '0';
    do {
      const [next, flat] = await redis.hscan(keys.contactStates(campaignId), cursor, 'COUNT', BATCH);
      cursor = next;
      const batch: Array<[string, string]> = [];
      for (let index = 0; index < flat.length; index += 2) batch.push([flat[index]!, flat[index + 1]!]);
      if (batch.length > 0) yield batch;
    } while (cursor !== '0');
  }

  /**
   * Closes a campaign's contacts that no worker is dialing: those still in its list, and those whose
   * job waits (fed, deferred, parked, a redial or retry due later), whose job is removed. A job a
   * worker holds is left to it: the worker sees the campaign's state before it dials.
   */
  const closeRest = async (campaignId: string, state: { status: 'cancelled' } | { status: 'blocked'; reason: 'expired' }) => {
    const lock = `${keys.campaign(campaignId)}:sweep`;
    if ((await redis.set(lock, '1', 'PX', 120_000, 'NX')) !== 'OK') return;
    try {
      const campaign = await campaigns.get(campaignId);
      if (!campaign) return;
      for (;;) {
        const entries = await redis.lrange(keys.pending(campaignId), 0, BATCH - 1);
        if (entries.length === 0) break;
        const waiting = entries.map(pendingEntry);
        const stored = await redis.hmget(keys.contacts(campaignId), ...waiting.map(({ key }) => key));
        const jobs = waiting.flatMap(({ round, key }, index) => {
          const contact = stored[index];
          return contact ? [{ jobId: contactJobId(campaignId, key, round), data: contactCall(campaign, decodeContact(key, contact), round, 0) }] : [];
        });
        await callLog.closed(jobs, state);
        await redis.ltrim(keys.pending(campaignId), entries.length, -1);
      }
      let removed = 0;
      for await (const batch of contactStates(campaignId)) {
        for (const [, value] of batch) {
          const { state: contactState, jobId } = parseContactState(value);
          if (!(contactState === 'pending' || contactState.startsWith('deferred:')) || !jobId) continue;
          const job = await callQueue.getJob(jobId);
          if (!job || (await job.isActive())) continue;
          try {
            await job.remove();
          } catch {
            continue; // a worker took it meanwhile: it closes it itself
          }
          removed += 1;
          await redis.srem(keys.hopper(campaignId), jobId);
          await redis.srem(keys.parked(campaignId), jobId);
          await callLog.attempt(jobId, job.data, job.attemptsMade + 1, state);
        }
      }
      logger.info({ campaignId, status: state.status, jobsRemoved: removed }, 'campaign contacts not dialed were closed');
    } finally {
      await redis.del(lock);
    }
  };

  return {
    cancelRest: (campaignId: string) => closeRest(campaignId, { status: 'cancelled' }),
    expireRest: (campaignId: string) => closeRest(campaignId, { status: 'blocked', reason: 'expired' }),

    /** Puts back every contact whose state is one of `states` (e.g. `done:busy`); answers how many. */
    async retry(campaignId: string, states: string[]): Promise<number> {
      let taken = 0;
      for await (const batch of contactStates(campaignId)) {
        const chosen = batch.filter(([, value]) => states.includes(parseContactState(value).state)).map(([key]) => key);
        if (chosen.length === 0) continue;
        const at = now();
        taken += Number(
          await requeue(keys.campaign(campaignId), keys.contactStates(campaignId), keys.counts(campaignId), keys.pending(campaignId), keys.states, keys.running, campaignId, at, new Date(at).toISOString(), states.join(' '), keys.changes, ...chosen),
        );
      }
      return taken;
    },
  };
}

export type CampaignSweeps = ReturnType<typeof createCampaignSweeps>;
