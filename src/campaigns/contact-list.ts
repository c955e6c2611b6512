import { DNC_LOOKUP_LUA, dncHashKey } from '../contact/contact-store.js';
import { campaignKeys } from './campaign-keys.js';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { redisScript } from '../lib/redis.js';
import type { Contact } from './campaign-definition.js';
import { rowOrder } from './campaign-progress.js';
import { campaignScript } from './campaign-errors.js';
import { CAMPAIGN_STATE_IN_LUA, CONTACT_JOB_ID_LUA, SET_CAMPAIGN_STATE_LUA } from './campaign-lua.js';

/** Why a contact was turned away. */
export type RejectionReason = 'invalid-number' | 'duplicate' | 'dnc' | 'missing-number' | 'malformed';

export interface Rejection {
  /** The CSV line (from 1, the header included) or the item's index in a JSON chunk (from 0). */
  line: number;
  reason: RejectionReason;
}

/** A contact with where it came from: its CSV line, or its index in a JSON chunk. */
export type PlacedContact = Contact & { line: number };

/**
 * KEYS: the campaign, its contacts, its pending list, its contact states, its counts, the
 * do-not-call list, the states hash, the running set, the import's progress and its rejections.
 * ARGV: campaign, now ms, now ISO, dry run (0/1), import (0/1), last line of the chunk, the initial
 * order of a contact's state, the changes channel, rows the caller already rejected as JSON
 * [[line, reason]...], then 4 per contact: key, contact JSON, number, line.
 * Adds in one step every contact new to the campaign and not on the do-not-call list (none when
 * dry) and answers how many it added and the rejections as JSON. A completed campaign runs again.
 * With an import, its progress moves with the chunk, so a crashed import resumes after its last
 * committed chunk. Errors: NOCAMPAIGN, STATE <state>.
 */
const APPEND = `${DNC_LOOKUP_LUA}${CONTACT_JOB_ID_LUA}${SET_CAMPAIGN_STATE_LUA}${CAMPAIGN_STATE_IN_LUA}
local base, contacts, pending, states, counts, dnc, statesIndex, running, importKey, importRejections = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local campaign, now, nowIso, dry, imported, lastLine, initialOrder, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1', ARGV[5] == '1', tonumber(ARGV[6]), ARGV[7], ARGV[8]
local state = campaign_state_in(base, 'draft running paused completed')
if imported and tonumber(redis.call('HGET', importKey, 'line') or '0') >= lastLine then return { 0, '[]', 1 } end
local rejected = cjson.decode(ARGV[9])
local seen, added = {}, 0
for i = 10, #ARGV, 4 do
  local key, contact, number, line = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  if seen[key] or redis.call('HEXISTS', contacts, key) == 1 then
    rejected[#rejected + 1] = { line, 'duplicate' }
  elseif dnc_entry(dnc, number, now) then
    rejected[#rejected + 1] = { line, 'dnc' }
  else
    seen[key] = true
    added = added + 1
    if not dry then
      redis.call('HSET', contacts, key, contact)
      redis.call('RPUSH', pending, '0|' .. key)
      redis.call('HSET', states, key, initialOrder .. '|pending||0|' .. contact_job_id(campaign, key, 0) .. '|' .. now)
    end
  end
end
if not dry and added > 0 then
  redis.call('HINCRBY', counts, 'contacts', added)
  redis.call('HINCRBY', counts, 'pending', added)
  if state == 'completed' then set_campaign_state(base, statesIndex, running, channel, campaign, 'running', nowIso, now) else redis.call('HSET', base, 'lastChange', now) end
end
if imported then
  redis.call('HINCRBY', importKey, 'accepted', added)
  redis.call('HINCRBY', importKey, 'rejected', #rejected)
  redis.call('HSET', importKey, 'line', lastLine, 'updatedAt', nowIso)
  local room = 1000 - redis.call('LLEN', importRejections)
  for r = 1, math.min(room, #rejected) do redis.call('RPUSH', importRejections, rejected[r][1] .. ' ' .. rejected[r][2]) end
  for r = 1, #rejected do redis.call('HINCRBY', importKey, 'rejected:' .. rejected[r][2], 1) end
end
return { added, cjson.encode(rejected), 0 }
`;

/** What a contact is stored as: short names, since a campaign may hold millions. */
export const encodeContact = (contact: Contact) =>
  JSON.stringify({ n: contact.to, ...(contact.contactId !== undefined && { c: contact.contactId }), ...(contact.leadId !== undefined && { l: contact.leadId }), ...(contact.variables && { v: contact.variables }) });

export const decodeContact = (key: string, stored: string): Contact => {
  const { n, c, l, v } = JSON.parse(stored) as { n: string; c?: string; l?: string; v?: Contact['variables'] };
  return { key, to: n, ...(c !== undefined && { contactId: c }), ...(l !== undefined && { leadId: l }), ...(v && { variables: v }) };
};

export interface AppendOptions {
  dryRun?: boolean;
  /** The import whose progress moves with this chunk, and the chunk's last line. */
  progress?: { key: string; lastLine: number };
  /** Rows the caller already turned away (no number, not a number), recorded with the chunk. */
  rejected?: Rejection[];
}

export interface AppendResult {
  added: number;
  rejected: Rejection[];
  /** An import's chunk that had already been committed (a resumed import): nothing was done. */
  alreadyCommitted: boolean;
}

/** Appends contacts to a campaign's list, in one atomic step per chunk. */
export function createContactList(redis: Redis, prefix: string, now: () => number = Date.now) {
  const append = redisScript(redis, 'switchboardAppendContacts', 10, APPEND);
  return {
    async append(campaignId: string, contacts: PlacedContact[], options: AppendOptions = {}): Promise<AppendResult> {
      const args: Array<string | number> = [];
      for (const contact of contacts) args.push(contact.key, encodeContact(contact), contact.to, contact.line);
      const at = now();
      const keys = campaignKeys(prefix);
      // Without an import, a key of the campaign's own stands in (declared, never written).
      const importKey = options.progress?.key ?? `${keys.campaign(campaignId)}:no-import`;
      const [added, rejected, skipped] = (await campaignScript(campaignId, 'take contacts', () =>
        append(
          keys.campaign(campaignId),
          keys.contacts(campaignId),
          keys.pending(campaignId),
          keys.contactStates(campaignId),
          keys.counts(campaignId),
          dncHashKey(prefix),
          keys.states,
          keys.running,
          importKey,
          `${importKey}:rejections`,
          campaignId,
          at,
          new Date(at).toISOString(),
          options.dryRun ? 1 : 0,
          options.progress ? 1 : 0,
          options.progress?.lastLine ?? 0,
          rowOrder(0, 0, 0, 0),
          keys.changes,
          JSON.stringify((options.rejected ?? []).map(({ line, reason }) => [line, reason])),
          ...args,
        ),
      )) as [number, string, number];
      // cjson encodes an empty list as {}.
      const parsed = JSON.parse(rejected) as Array<[number, Rejection['reason']]> | Record<string, never>;
      const list = Array.isArray(parsed) ? parsed : [];
      return { added: Number(added), rejected: list.map(([line, reason]) => ({ line, reason })), alreadyCommitted: Number(skipped) === 1 };
    },
  };
}

export type ContactList = ReturnType<typeof createContactList>;
