/** Lua: the job that dials `key` of `campaign` in pass `round`; the same as `contactJobId`. */
export const CONTACT_JOB_ID_LUA = `
local function contact_job_id(campaign, key, round)
  local id = 'cmp-' .. campaign .. '-' .. string.sub(redis.sha1hex(key), 1, 20)
  if tonumber(round) > 0 then id = id .. '-r' .. round end
  return id
end
`;

/** Lua: moves a campaign to `to` (its state field, the running set, the states hash) and announces it. */
export const SET_CAMPAIGN_STATE_LUA = `
local function set_campaign_state(prefix, campaign, to, nowIso, nowMs)
  local base = prefix .. ':campaign:' .. campaign
  redis.call('HSET', base, 'state', to, 'updatedAt', nowIso, 'lastChange', nowMs)
  redis.call('HSET', prefix .. ':campaigns:states', campaign, to)
  if to == 'running' then redis.call('SADD', prefix .. ':campaigns:running', campaign) else redis.call('SREM', prefix .. ':campaigns:running', campaign) end
  redis.call('PUBLISH', prefix .. ':campaigns:changes', campaign .. ' ' .. to)
end
`;

/**
 * Lua: \`campaign_state_in(prefix, campaign, allowed)\` answers the campaign's state when it is one of
 * \`allowed\` (space-separated), and fails with NOCAMPAIGN or STATE <state> otherwise.
 */
export const CAMPAIGN_STATE_IN_LUA = `
local function campaign_state_in(prefix, campaign, allowed)
  local state = redis.call('HGET', prefix .. ':campaign:' .. campaign, 'state')
  if not state then error({ err = 'NOCAMPAIGN' }) end
  if not string.find(' ' .. allowed .. ' ', ' ' .. state .. ' ', 1, true) then error({ err = 'STATE ' .. state }) end
  return state
end
`;
