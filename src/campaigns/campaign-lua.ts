/** Lua: the job that dials `key` of `campaign` in pass `round`; the same as `contactJobId`. */
export const CONTACT_JOB_ID_LUA = `
local function contact_job_id(campaign, key, round)
  local id = 'cmp-' .. campaign .. '-' .. string.sub(redis.sha1hex(key), 1, 20)
  if tonumber(round) > 0 then id = id .. '-r' .. round end
  return id
end
`;

/**
 * Lua: \`set_campaign_state(base, states, running, channel, campaign, to, nowIso, nowMs)\` moves a
 * campaign to \`to\`: its hash (\`base\`), the states hash, the running set; and announces it on
 * \`channel\`. The caller declares the three keys.
 */
export const SET_CAMPAIGN_STATE_LUA = `
local function set_campaign_state(base, states, running, channel, campaign, to, nowIso, nowMs)
  redis.call('HSET', base, 'state', to, 'updatedAt', nowIso, 'lastChange', nowMs)
  redis.call('HSET', states, campaign, to)
  if to == 'running' then redis.call('SADD', running, campaign) else redis.call('SREM', running, campaign) end
  redis.call('PUBLISH', channel, campaign .. ' ' .. to)
end
`;

/**
 * Lua: \`campaign_state_in(base, allowed)\` answers the state of the campaign whose hash is \`base\`
 * when it is one of \`allowed\` (space-separated), and fails with NOCAMPAIGN or STATE <state> otherwise.
 */
export const CAMPAIGN_STATE_IN_LUA = `
local function campaign_state_in(base, allowed)
  local state = redis.call('HGET', base, 'state')
  if not state then error({ err = 'NOCAMPAIGN' }) end
  if not string.find(' ' .. allowed .. ' ', ' ' .. state .. ' ', 1, true) then error({ err = 'STATE ' .. state }) end
  return state
end
`;

/** Lua: \`contact_state_parts(value)\` splits a contact's stored state (see \`parseContactState\`) at its bars, empty parts kept. */
export const CONTACT_STATE_PARTS_LUA = `
local function contact_state_parts(value)
  local parts = {}
  for part in string.gmatch(value .. '|', '([^|]*)|') do parts[#parts + 1] = part end
  return parts
end
`;
