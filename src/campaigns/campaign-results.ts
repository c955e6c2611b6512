import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { campaignKeys } from './campaign-keys.js';
import { parseContactState } from './campaign-progress.js';
import { decodeContact } from './contact-list.js';

export const RESULT_COLUMNS = ['contact_id', 'number', 'lead_id', 'state', 'outcome', 'reason', 'attempts', 'first_dialed_at', 'last_dialed_at', 'job_id', 'updated_at'] as const;

const isoOrEmpty = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : '');

/** A contact's state as the results name it: the state, the outcome of a finished one, the reason of a deferred or blocked one. */
const describe = (state: string) => {
  const [kind = state, detail = ''] = state.split(':');
  return { state: kind, outcome: kind === 'done' ? detail : '', reason: kind === 'deferred' || kind === 'blocked' ? detail : '' };
};

async function* resultRows(redis: Redis, prefix: string, campaignId: string): AsyncGenerator<string[]> {
  const keys = campaignKeys(prefix);
  // A scan may answer a contact twice while the list grows: each is listed once.
  const listed = new Set<string>();
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(keys.contacts(campaignId), cursor, 'COUNT', 1000);
    cursor = next;
    const entries: Array<[string, string]> = [];
    for (let index = 0; index < flat.length; index += 2) {
      if (listed.has(flat[index]!)) continue;
      listed.add(flat[index]!);
      entries.push([flat[index]!, flat[index + 1]!]);
    }
    if (entries.length === 0) continue;
    const states = await redis.hmget(keys.contactStates(campaignId), ...entries.map(([key]) => key));
    for (let index = 0; index < entries.length; index += 1) {
      const contact = decodeContact(...entries[index]!);
      const stored = states[index] ? parseContactState(states[index]!) : undefined;
      const { state, outcome, reason } = describe(stored?.state ?? 'pending');
      yield [contact.contactId ?? '', contact.to, contact.leadId ?? '', state, outcome, reason, String(stored?.attempts ?? 0), isoOrEmpty(stored?.firstDialAt), isoOrEmpty(stored?.lastDialAt), stored?.jobId ?? '', isoOrEmpty(stored?.updatedAt)];
    }
  } while (cursor !== '0');
}

/** One CSV line per contact (a header first): its state, outcome or reason, dials and their times; streamed from Redis a thousand contacts at a time. */
export const campaignResultsCsv = (redis: Redis, prefix: string, campaignId: string): Readable =>
  Readable.from(resultRows(redis, prefix, campaignId)).pipe(stringify({ header: true, columns: [...RESULT_COLUMNS] }));
