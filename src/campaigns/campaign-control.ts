import type { RedisConnection as Redis } from '../lib/redis.js';
import type { Logger } from '../logger.js';
import { campaignKeys } from './campaign-keys.js';
import type { CampaignState } from './campaign-definition.js';

/** What a worker does with a campaign's call it holds: dial it, put it aside until the campaign resumes, or close it. */
export type CampaignVerdict = 'dial' | 'park' | 'cancel';

export const verdictFor = (state: CampaignState | undefined): CampaignVerdict => {
  if (state === 'running' || state === 'completed') return 'dial';
  if (state === 'paused' || state === 'draft') return 'park';
  return 'cancel';
};

/** How often a worker reads every campaign's state even when no change was announced (one lost announcement costs at most this). */
const REFRESH_MS = 250;

/**
 * Every campaign's state, in a worker's memory: announced changes arrive over pub/sub at once, and
 * the whole table is read again every quarter second, so a paused campaign's calls stop on every
 * worker within a second with no Redis round trip between a call's turn and its dial.
 */
export async function startCampaignControl(redis: Redis, subscriber: Redis, prefix: string, logger: Logger) {
  const keys = campaignKeys(prefix);
  let states = new Map<string, CampaignState>();
  const load = async () => {
    states = new Map(Object.entries((await redis.hgetall(keys.states)) as Record<string, CampaignState>));
  };
  subscriber.on('error', (error: Error) => logger.warn({ err: error }, 'campaign announcements: connection error'));
  subscriber.on('message', (_channel: string, message: string) => {
    const [id, state] = message.split(' ') as [string, CampaignState];
    states.set(id, state);
  });
  await subscriber.subscribe(keys.changes);
  await load();
  const timer = setInterval(() => void load().catch((error) => logger.warn({ err: error }, 'campaign states could not be read')), REFRESH_MS);
  timer.unref();

  return {
    /** Decided from memory; a campaign not yet known (created since the last read) is read first. */
    async verdict(campaignId: string): Promise<CampaignVerdict> {
      if (!states.has(campaignId)) await load();
      return verdictFor(states.get(campaignId));
    },
    /** From memory only: for the moment just before a dial. */
    verdictNow: (campaignId: string): CampaignVerdict => verdictFor(states.get(campaignId)),
    /** A worker took the call: it leaves the campaign's hopper. */
    taken: async (campaignId: string, jobId: string) => void (await redis.srem(keys.hopper(campaignId), jobId)),
    /** Put aside while the campaign is paused (promoted when it resumes): it claims none of the campaign's share of slots meanwhile. */
    parked: async (campaignId: string, jobId: string, contactKey: string) => {
      await redis.multi().sadd(keys.parked(campaignId), jobId).srem(keys.claimed(campaignId), contactKey).exec();
    },
    async close() {
      clearInterval(timer);
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}

export type CampaignControl = Awaited<ReturnType<typeof startCampaignControl>>;
