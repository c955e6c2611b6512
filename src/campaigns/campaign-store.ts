import { randomBytes } from 'node:crypto';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { redisScript } from '../lib/redis.js';
import { campaignKeys } from './campaign-keys.js';
import type { Campaign, CampaignDefinition, CampaignState } from './campaign-definition.js';
import { campaignScript } from './campaign-errors.js';
import { CAMPAIGN_STATE_IN_LUA, SET_CAMPAIGN_STATE_LUA } from './campaign-lua.js';

/**
 * ARGV: prefix, campaign, allowed states (space-separated), new state, now ISO, now ms. Moves the
 * campaign to the new state if it is in an allowed one; answers the state it was in. Errors:
 * NOCAMPAIGN, STATE <state>.
 */
const TRANSITION = `${SET_CAMPAIGN_STATE_LUA}${CAMPAIGN_STATE_IN_LUA}
local prefix, campaign, allowed, to, nowIso, nowMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local state = campaign_state_in(prefix, campaign, allowed)
set_campaign_state(prefix, campaign, to, nowIso, nowMs)
return state
`;

/**
 * ARGV: prefix, campaign, allowed states, then field/value pairs. Writes the fields if the campaign
 * is in an allowed state. Errors: NOCAMPAIGN, STATE <state>.
 */
const UPDATE = `${CAMPAIGN_STATE_IN_LUA}
local prefix, campaign, allowed = ARGV[1], ARGV[2], ARGV[3]
local state = campaign_state_in(prefix, campaign, allowed)
redis.call('HSET', prefix .. ':campaign:' .. campaign, unpack(ARGV, 4))
return state
`;

/** ARGV: prefix, campaign, allowed states. Removes the campaign and everything it holds in Redis (not its call log). */
const REMOVE = `${CAMPAIGN_STATE_IN_LUA}
local prefix, campaign, allowed = ARGV[1], ARGV[2], ARGV[3]
local base = prefix .. ':campaign:' .. campaign
local state = campaign_state_in(prefix, campaign, allowed)
for _, suffix in ipairs({ '', ':contacts', ':pending', ':contact-states', ':counts', ':hopper', ':claimed', ':parked', ':pace' }) do redis.call('UNLINK', base .. suffix) end
redis.call('ZREM', prefix .. ':campaigns', campaign)
redis.call('HDEL', prefix .. ':campaigns:states', campaign)
redis.call('SREM', prefix .. ':campaigns:running', campaign)
return state
`;

/** What the feeder reads of a campaign without parsing its definition. */
const schedulingFields = (definition: CampaignDefinition, usesSlots: boolean) => [
  'rateShare',
  definition.rateShare,
  'slotShare',
  definition.slotShare,
  'usesSlots',
  usesSlots ? 1 : 0,
  'startAt',
  definition.startAt ? Date.parse(definition.startAt) : '',
  'endAt',
  definition.endAt ? Date.parse(definition.endAt) : '',
];

const toCampaign = (id: string, fields: Record<string, string>): Campaign | undefined =>
  fields.def === undefined
    ? undefined
    : { id, ...(JSON.parse(fields.def) as CampaignDefinition), state: fields.state as CampaignState, createdAt: fields.createdAt!, updatedAt: fields.updatedAt! };

/** Campaigns in Redis: their definitions and states, and the moves between states. */
export function createCampaignStore(redis: Redis, prefix: string, now: () => number = Date.now) {
  const keys = campaignKeys(prefix);
  const transition = redisScript(redis, 'switchboardCampaignTransition', 0, TRANSITION);
  const update = redisScript(redis, 'switchboardCampaignUpdate', 0, UPDATE);
  const remove = redisScript(redis, 'switchboardCampaignRemove', 0, REMOVE);

  return {
    async create(definition: CampaignDefinition, usesSlots: boolean): Promise<Campaign> {
      const id = randomBytes(8).toString('hex');
      const at = now();
      const createdAt = new Date(at).toISOString();
      await redis
        .multi()
        .hset(keys.campaign(id), 'def', JSON.stringify(definition), 'state', 'draft', 'createdAt', createdAt, 'updatedAt', createdAt, 'lastChange', at, ...schedulingFields(definition, usesSlots))
        .zadd(keys.index, at, id)
        .hset(keys.states, id, 'draft')
        .exec();
      return { id, ...definition, state: 'draft', createdAt, updatedAt: createdAt };
    },

    async get(id: string): Promise<Campaign | undefined> {
      return toCampaign(id, await redis.hgetall(keys.campaign(id)));
    },

    /** Newest first. */
    async list(offset: number, limit: number): Promise<{ campaigns: Campaign[]; total: number }> {
      const [ids, total] = await Promise.all([redis.zrevrange(keys.index, offset, offset + limit - 1), redis.zcard(keys.index)]);
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(keys.campaign(id));
      const results = (await pipeline.exec()) ?? [];
      const campaigns = ids.flatMap((id, index) => {
        const campaign = toCampaign(id, (results[index]?.[1] ?? {}) as Record<string, string>);
        return campaign ? [campaign] : [];
      });
      return { campaigns, total };
    },

    /** Replaces the definition, in the states that allow it. */
    async update(id: string, definition: CampaignDefinition, usesSlots: boolean, allowed: CampaignState[]): Promise<void> {
      await campaignScript(id, 'be changed', () =>
        update(prefix, id, allowed.join(' '), 'def', JSON.stringify(definition), 'updatedAt', new Date(now()).toISOString(), ...schedulingFields(definition, usesSlots)),
      );
    },

    /** Moves the campaign from one of `from` to `to`; answers the state it left. */
    async transition(id: string, from: CampaignState[], to: CampaignState, action: string): Promise<CampaignState> {
      const at = now();
      return (await campaignScript(id, action, () => transition(prefix, id, from.join(' '), to, new Date(at).toISOString(), at))) as CampaignState;
    },

    async remove(id: string, allowed: CampaignState[]): Promise<void> {
      await campaignScript(id, 'be deleted', () => remove(prefix, id, allowed.join(' ')));
    },

    /** Every campaign's state, for workers that keep them in memory. */
    states: async (): Promise<Record<string, CampaignState>> => (await redis.hgetall(keys.states)) as Record<string, CampaignState>,
  };
}

export type CampaignStore = ReturnType<typeof createCampaignStore>;
