import { randomBytes } from 'node:crypto';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { redisScript } from '../lib/redis.js';
import { campaignKeys } from './campaign-keys.js';
import type { Campaign, CampaignDefinition, CampaignState } from './campaign-definition.js';
import { campaignScript } from './campaign-errors.js';
import { CAMPAIGN_STATE_IN_LUA, SET_CAMPAIGN_STATE_LUA } from './campaign-lua.js';

/**
 * KEYS: the campaign, the states hash, the running set. ARGV: campaign, allowed states
 * (space-separated), new state, now ISO, now ms, the changes channel. Moves the campaign to the new
 * state if it is in an allowed one; answers the state it was in. Errors: NOCAMPAIGN, STATE <state>.
 */
const TRANSITION = `${SET_CAMPAIGN_STATE_LUA}${CAMPAIGN_STATE_IN_LUA}
local state = campaign_state_in(KEYS[1], ARGV[2])
set_campaign_state(KEYS[1], KEYS[2], KEYS[3], ARGV[6], ARGV[1], ARGV[3], ARGV[4], tonumber(ARGV[5]))
return state
`;

/** KEYS: the campaign. ARGV: allowed states, then field/value pairs, written if the campaign is in an allowed state. */
const UPDATE = `${CAMPAIGN_STATE_IN_LUA}
local state = campaign_state_in(KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return state
`;

/**
 * KEYS: the campaign, then everything it holds, then the index, the states hash and the running set.
 * ARGV: campaign, allowed states. Removes the campaign and all it holds in Redis (not its call log).
 */
const REMOVE = `${CAMPAIGN_STATE_IN_LUA}
local state = campaign_state_in(KEYS[1], ARGV[2])
local owned = #KEYS - 3
for i = 1, owned do redis.call('UNLINK', KEYS[i]) end
redis.call('ZREM', KEYS[owned + 1], ARGV[1])
redis.call('HDEL', KEYS[owned + 2], ARGV[1])
redis.call('SREM', KEYS[owned + 3], ARGV[1])
return state
`;

/** Everything a campaign holds in Redis, its own hash first. */
const ownedKeys = (keys: ReturnType<typeof campaignKeys>, id: string) => [
  keys.campaign(id),
  keys.contacts(id),
  keys.pending(id),
  keys.contactStates(id),
  keys.counts(id),
  keys.hopper(id),
  keys.claimed(id),
  keys.parked(id),
  keys.pace(id),
];

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
  const transition = redisScript(redis, 'switchboardCampaignTransition', 3, TRANSITION);
  const update = redisScript(redis, 'switchboardCampaignUpdate', 1, UPDATE);
  const removeScript = redisScript(redis, 'switchboardCampaignRemove', ownedKeys(keys, 'x').length + 3, REMOVE);
  const remove = (id: string, allowed: string) => removeScript(...ownedKeys(keys, id), keys.index, keys.states, keys.running, id, allowed);

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
        update(keys.campaign(id), allowed.join(' '), 'def', JSON.stringify(definition), 'updatedAt', new Date(now()).toISOString(), ...schedulingFields(definition, usesSlots)),
      );
    },

    /** Moves the campaign from one of `from` to `to`; answers the state it left. */
    async transition(id: string, from: CampaignState[], to: CampaignState, action: string): Promise<CampaignState> {
      const at = now();
      return (await campaignScript(id, action, () => transition(keys.campaign(id), keys.states, keys.running, id, from.join(' '), to, new Date(at).toISOString(), at, keys.changes))) as CampaignState;
    },

    async remove(id: string, allowed: CampaignState[]): Promise<void> {
      await campaignScript(id, 'be deleted', () => remove(id, allowed.join(' ')));
    },

    /** Every campaign's state, for workers that keep them in memory. */
    states: async (): Promise<Record<string, CampaignState>> => (await redis.hgetall(keys.states)) as Record<string, CampaignState>,
  };
}

export type CampaignStore = ReturnType<typeof createCampaignStore>;
