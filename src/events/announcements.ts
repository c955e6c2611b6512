import type { Campaign, CampaignState } from '../campaigns/campaign-definition.js';
import type { DncEntry } from '../contact/contact-store.js';
import { freshEventId, stableEventId } from './call-events.js';
import type { CampaignEventType, RecordedEvent } from './event-types.js';

const CAMPAIGN_EVENT_OF: Partial<Record<string, CampaignEventType>> = {
  'draft>running': 'campaign.started',
  'running>paused': 'campaign.paused',
  'paused>running': 'campaign.resumed',
  'completed>running': 'campaign.resumed',
  '*>completed': 'campaign.completed',
  '*>cancelled': 'campaign.cancelled',
};

/** A campaign's change of state, in its campaign's lane (so a pause is never delivered after the resume that followed it). */
export function campaignEvent(campaign: Pick<Campaign, 'id' | 'name' | 'metadata'>, from: CampaignState | '*', to: CampaignState, at = new Date()): RecordedEvent | undefined {
  const type = CAMPAIGN_EVENT_OF[`${from}>${to}`] ?? CAMPAIGN_EVENT_OF[`*>${to}`];
  if (!type) return undefined;
  return {
    event: { id: freshEventId(), type, timestamp: at.toISOString(), data: { campaignId: campaign.id, name: campaign.name ?? null, state: to, metadata: campaign.metadata ?? null } },
    lane: `campaign:${campaign.id}`,
    campaignId: campaign.id,
  };
}

/** A waiting caller asked to be called back; the same call asks once. */
export const callbackEvent = (caller: { callSid: string; from: string | null; priority: string; position: number | null }, at = new Date()): RecordedEvent => ({
  event: { id: stableEventId(caller.callSid, 'callback'), type: 'callback.requested', timestamp: at.toISOString(), data: caller },
  lane: `call:${caller.callSid}`,
});

/** New do-not-call entries: one, or the new ones of a chunk of an import. */
export const dncEvent = (entries: DncEntry[], at = new Date()): RecordedEvent => ({
  event: {
    id: freshEventId(),
    type: 'dnc.added',
    timestamp: at.toISOString(),
    data: { entries: entries.map((entry) => ({ number: entry.key, reason: entry.reason, source: entry.source, expiresAt: entry.expiresAt })) },
  },
});
