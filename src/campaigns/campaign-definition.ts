import type { RequestedCall } from '../connect/connect-request.js';
import type { CallJobData, PriorityName, RedialOutcome } from '../jobs/call-jobs.js';

export const CAMPAIGN_STATES = ['draft', 'running', 'paused', 'completed', 'cancelled'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

export type ContactVariables = Record<string, string | number | boolean>;

/** How often and how soon a contact is dialed again after an outcome. */
export interface RedialRule {
  max: number;
  delayMs: number;
}

/** What a campaign does for each of its contacts: one policy for all. */
export interface CampaignDefinition {
  name: string;
  description?: string;
  /** No dial before (ISO); none after (ISO): what is left then expires. */
  startAt?: string;
  endAt?: string;
  priority: PriorityName;
  /** Spoken (say), or the agent's first words; `{{name}}` is replaced by the contact's variable. */
  message: string;
  /** Every contact's variables, unless the contact gives its own. */
  variables?: ContactVariables;
  metadata?: Record<string, unknown>;
  /** One caller id, or a pool the contacts are spread over. */
  from?: string;
  callerIds?: string[];
  /** Connect mode, agent, answering-machine policy and the gate's rules, as a single call takes them (connect settled at creation). */
  call: Pick<
    CallJobData,
    | 'connect'
    | 'agentTarget'
    | 'streamUrl'
    | 'answeringMachine'
    | 'machineDetection'
    | 'timeout'
    | 'record'
    | 'callingWindow'
    | 'blackoutDates'
    | 'frequencyCap'
    | 'minGapMinutes'
  >;
  /** Per outcome; outcomes not named are not redialed. Absent: REDIAL_ON, REDIAL_MAX and REDIAL_DELAY_MS. */
  redial?: Partial<Record<RedialOutcome, RedialRule>>;
  /** Relative weights: the campaign's share of the dial rate and of live-call slots while others want them. */
  rateShare: number;
  slotShare: number;
}

/** A campaign as the API shows it. */
export interface Campaign extends CampaignDefinition {
  id: string;
  state: CampaignState;
  createdAt: string;
  updatedAt: string;
}

/** Told of every change of a campaign's state. */
export interface CampaignEvents {
  /** Whether anyone listens: without a listener, nothing is read to tell them. */
  wanted(): boolean;
  changed(campaign: Pick<Campaign, 'id' | 'name' | 'metadata'>, from: CampaignState | '*', to: CampaignState): Promise<void>;
}

/** One contact of a campaign. `key` identifies it: its contact id, or its number when it has none. */
export interface Contact {
  key: string;
  to: string;
  contactId?: string;
  leadId?: string;
  variables?: ContactVariables;
}

/** The campaign's policy as a call request, for settling the connect mode and checking it like any call. */
export const templateCall = (definition: Pick<CampaignDefinition, 'message' | 'priority' | 'from' | 'call'>): RequestedCall => ({
  to: '+10000000000',
  message: definition.message,
  priority: definition.priority,
  ...(definition.from && { from: definition.from }),
  ...definition.call,
});

const VARIABLE = /\{\{\s*([\w.-]+)\s*\}\}/g;

/** The message with each `{{name}}` replaced by the contact's variable (empty when it has none). */
export const renderMessage = (message: string, variables: ContactVariables | undefined) =>
  message.includes('{{') ? message.replace(VARIABLE, (_, name: string) => String(variables?.[name] ?? '')) : message;

/**
 * The call that dials one contact: the campaign's policy, the contact's number, lead and variables,
 * a caller id from the pool (spread by the contact's place in the list), and the campaign's end as
 * the call's expiry.
 */
export function contactCall(campaign: Pick<Campaign, 'id'> & CampaignDefinition, contact: Contact, round: number, sequence: number): CallJobData {
  const variables = contact.variables || campaign.variables ? { ...campaign.variables, ...contact.variables } : undefined;
  const from = campaign.callerIds?.length ? campaign.callerIds[sequence % campaign.callerIds.length] : campaign.from;
  const metadata = campaign.metadata || variables ? { ...campaign.metadata, ...(variables && { variables }) } : undefined;
  return {
    to: contact.to,
    message: renderMessage(campaign.message, variables),
    priority: campaign.priority,
    ...(from && { from }),
    ...(contact.leadId !== undefined && { lead_id: contact.leadId }),
    ...(metadata && { metadata }),
    ...campaign.call,
    ...(campaign.endAt && { notAfter: campaign.endAt }),
    ...(campaign.redial && { redial: { byOutcome: campaign.redial } }),
    campaignId: campaign.id,
    contactId: contact.key,
    campaignRound: round,
  };
}
