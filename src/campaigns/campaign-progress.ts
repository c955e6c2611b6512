import type { CallLogRow, CallLogWriter } from '../call-log/call-log-writer.js';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { redisScriptOfKeys } from '../lib/redis.js';
import { campaignKeys } from './campaign-keys.js';
import { CONTACT_STATE_PARTS_LUA } from './campaign-lua.js';

/**
 * A contact's state, from the latest call-log row of its calls: the call log and the campaign's
 * counts are made from the same rows, so they always add up to the same figures.
 * `pending` (waiting to be dialed, retries included), `deferred:<reason>`, `dialing`, `live`,
 * `done:<outcome>`, `blocked:<reason>`, `expired`, `cancelled`.
 */
export function contactStateOf(row: Pick<CallLogRow, 'status' | 'reason' | 'outcome' | 'final'>): string {
  switch (row.status) {
    case 'scheduled':
    case 'dial-failed':
      return 'pending';
    case 'deferred':
      return `deferred:${row.reason ?? 'window'}`;
    case 'blocked':
      return row.reason === 'expired' ? 'expired' : `blocked:${row.reason ?? 'unknown'}`;
    case 'cancelled':
      return 'cancelled';
    case 'error':
      return 'done:failed';
    case 'dialing':
    case 'queued':
    case 'initiated':
    case 'ringing':
      return 'dialing';
    case 'in-progress':
    case 'answered':
      return 'live';
    default:
      return row.final ? `done:${row.outcome ?? row.status}` : 'dialing';
  }
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** Orders a contact's rows: later pass, later redial, later attempt, later version. Compared as text. */
export const rowOrder = (round: number, redial: number, attempt: number, version: number) => `${pad(round, 4)}.${pad(redial, 3)}.${pad(attempt, 3)}.${pad(version, 10)}`;

/**
 * Whether the row claims one of the campaign's share of slots for the contact (+), gives it back (-),
 * or leaves it as it is (''): the feeder claims a contact when it feeds it; a dial claims it until
 * the call is over; a retry after a failed dial, a redial waiting for its time, a deferral or an
 * end gives it back.
 */
export function slotClaimOf(row: Pick<CallLogRow, 'status' | 'redial_number'>, state: string): '+' | '-' | '' {
  if (state === 'dialing' || state === 'live') return '+';
  if (state !== 'pending') return '-';
  return row.status === 'dial-failed' || row.redial_number > 0 ? '-' : '';
}

/** What a dial attempt is known by, to count each once however often its rows are written. */
const dialKey = (row: CallLogRow) => `${pad(row.campaign_round, 4)}.${pad(row.redial_number, 3)}.${pad(row.attempt, 3)}`;

/** A contact's state as stored: order, state, last dial counted, dials, job id, when it changed, its first and last dials (ms). */
export interface StoredContactState {
  order: string;
  state: string;
  attempts: number;
  jobId: string;
  updatedAt: number;
  firstDialAt: number | null;
  lastDialAt: number | null;
}

export const parseContactState = (value: string): StoredContactState => {
  const [order = '', state = 'pending', , attempts = '0', jobId = '', updatedAt = '0', firstDial = '', lastDial = ''] = value.split('|');
  return { order, state, attempts: Number(attempts), jobId, updatedAt: Number(updatedAt), firstDialAt: firstDial ? Number(firstDial) : null, lastDialAt: lastDial ? Number(lastDial) : null };
};

/** The value a contact starts with, waiting in its campaign's list (before any row: every row orders after it). */
export const initialContactState = (round: number, jobId: string, now: number, state = 'pending', version = 0) =>
  `${rowOrder(round, 0, 0, version)}|${state}||0|${jobId}|${now}`;

/**
 * KEYS: 6 per campaign the rows concern: its hash, contact states, counts, pace, claimed and hopper.
 * ARGV: now (ms), then 7 per row: the campaign's place among KEYS (0, 1…), contact key, order,
 * state, job id, dial key ('': not a dial), slot claim (+, - or '').
 * A row older than the contact's latest changes nothing but a dial not yet counted; a campaign that
 * no longer exists is left alone. Counts move with each change of state, in the same script.
 */
const APPLY_ROWS = `${CONTACT_STATE_PARTS_LUA}
local now = tonumber(ARGV[1])
local minute = tostring(math.floor(now / 60000))
for i = 2, #ARGV, 7 do
  local at, key, order, state, job, dial, claim = tonumber(ARGV[i]) * 6, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local base, states, counts, pace, claimed, hopper = KEYS[at + 1], KEYS[at + 2], KEYS[at + 3], KEYS[at + 4], KEYS[at + 5], KEYS[at + 6]
  if redis.call('EXISTS', base) == 1 then
    local current = redis.call('HGET', states, key)
    local corder, cstate, cdial, cattempts, cjob, firstDial, lastDial = '', nil, '', 0, job, '', ''
    if current then
      local parts = contact_state_parts(current)
      corder, cstate, cdial, cattempts, cjob, firstDial, lastDial = parts[1], parts[2], parts[3], tonumber(parts[4]) or 0, parts[5], parts[7] or '', parts[8] or ''
    else
      redis.call('HINCRBY', counts, 'contacts', 1)
    end
    local changed = false
    if dial ~= '' and dial > cdial then
      cdial, cattempts, changed, lastDial = dial, cattempts + 1, true, tostring(now)
      if firstDial == '' then firstDial = lastDial end
      redis.call('HINCRBY', counts, 'attempts', 1)
      redis.call('HINCRBY', pace, minute, 1)
      redis.call('PEXPIRE', pace, 7200000)
    end
    if order >= corder then
      if cstate ~= state then
        if cstate then redis.call('HINCRBY', counts, cstate, -1) end
        redis.call('HINCRBY', counts, state, 1)
      end
      corder, cstate, cjob, changed = order, state, job, true
      if claim == '+' then redis.call('SADD', claimed, key) elseif claim == '-' then redis.call('SREM', claimed, key) end
      -- Past waiting to be taken (dialed, deferred, cancelled by hand): no longer in the hopper.
      if state ~= 'pending' then redis.call('SREM', hopper, job) end
    end
    if changed then
      redis.call('HSET', states, key, corder .. '|' .. cstate .. '|' .. cdial .. '|' .. cattempts .. '|' .. cjob .. '|' .. now .. '|' .. firstDial .. '|' .. lastDial)
      redis.call('HSET', base, 'lastChange', now)
    end
  end
end
return 1
`;

/**
 * Keeps each campaign's contact states and counts from the call-log rows of its calls. It sees every
 * row the call log is given, whether or not Supabase is configured.
 */
export function createCampaignProgress(redis: Redis, prefix: string, now: () => number = Date.now): CallLogWriter {
  const keys = campaignKeys(prefix);
  const apply = redisScriptOfKeys(redis, 'switchboardCampaignRows', APPLY_ROWS);
  return {
    async write(rows) {
      const campaigns: string[] = [];
      const args: Array<string | number> = [];
      for (const row of rows) {
        if (row.campaign_id === null || row.contact_id === null) continue;
        let at = campaigns.indexOf(row.campaign_id);
        if (at < 0) at = campaigns.push(row.campaign_id) - 1;
        const state = contactStateOf(row);
        args.push(at, row.contact_id, rowOrder(row.campaign_round, row.redial_number, row.attempt, row.version), state, row.job_id, row.status === 'dialing' ? dialKey(row) : '', slotClaimOf(row, state));
      }
      if (args.length === 0) return;
      const declared = campaigns.flatMap((id) => [keys.campaign(id), keys.contactStates(id), keys.counts(id), keys.pace(id), keys.claimed(id), keys.hopper(id)]);
      await apply(declared, [now(), ...args]);
    },
  };
}

/** The counts of a campaign as stored: `contacts`, `attempts`, and one field per state. */
export async function readCounts(redis: Redis, prefix: string, campaignId: string): Promise<Record<string, number>> {
  const raw = await redis.hgetall(campaignKeys(prefix).counts(campaignId));
  return Object.fromEntries(Object.entries(raw).map(([state, count]) => [state, Number(count)]));
}
