import type { Queue } from 'bullmq';
import { settleConnect } from '../connect/connect-request.js';
import type { ConnectSettings } from '../connect/connect-settings.js';
import { connectModeOf, type CallJobData } from '../jobs/call-jobs.js';
import type { RedisConnection as Redis } from '../lib/redis.js';
import type { Logger } from '../logger.js';
import { contactCall, templateCall, type Campaign, type CampaignDefinition, type CampaignEvents, type CampaignState } from './campaign-definition.js';
import { campaignKeys, contactJobId } from './campaign-keys.js';
import type { CallLog } from '../call-log/call-log-writer.js';
import { readCounts } from './campaign-progress.js';
import type { CampaignStore } from './campaign-store.js';
import type { CampaignSweeps } from './campaign-sweeps.js';
import { campaignNotFound, campaignStateConflict } from './campaign-errors.js';
import type { AppendOptions, ContactList, PlacedContact } from './contact-list.js';

/** A campaign's contacts by state, its dials, and when it should finish at its pace. */
export interface CampaignProgress {
  contacts: number;
  pending: number;
  deferred: { total: number; byReason: Record<string, number> };
  dialing: number;
  live: number;
  done: { total: number; byOutcome: Record<string, number> };
  blocked: { total: number; byReason: Record<string, number> };
  expired: number;
  cancelled: number;
  attempts: number;
  pace: { dialsPerMinute: number; estimatedFinishAt: string | null };
}

/** Outcomes a retry may name, as contact states. */
export const RETRY_OUTCOMES = ['busy', 'no-answer', 'failed', 'canceled', 'voicemail-left', 'machine-hangup', 'completed', 'expired'] as const;
export type RetryOutcome = (typeof RETRY_OUTCOMES)[number];
const stateOfOutcome = (outcome: RetryOutcome) => (outcome === 'expired' ? 'expired' : `done:${outcome}`);

/** Minutes the pace is measured over. */
const PACE_MINUTES = 5;

/** `running`: whether the campaign is dialing, so that it has a finish to estimate (a paused one will not finish at any pace). */
export function progressFrom(counts: Record<string, number>, pace: { dials: number; minutes: number }, now: number, running = true): CampaignProgress {
  const group = (prefix: string) => {
    const byKey: Record<string, number> = {};
    let total = 0;
    for (const [state, count] of Object.entries(counts)) {
      if (!state.startsWith(prefix) || count === 0) continue;
      byKey[state.slice(prefix.length)] = count;
      total += count;
    }
    return { total, byKey };
  };
  const deferred = group('deferred:');
  const done = group('done:');
  const blocked = group('blocked:');
  const measured = pace.minutes > 0 ? pace.dials / pace.minutes : 0;
  const dialsPerMinute = Math.round(measured * 10) / 10;
  const left = (counts.pending ?? 0) + deferred.total + (counts.dialing ?? 0);
  return {
    contacts: counts.contacts ?? 0,
    pending: counts.pending ?? 0,
    deferred: { total: deferred.total, byReason: deferred.byKey },
    dialing: counts.dialing ?? 0,
    live: counts.live ?? 0,
    done: { total: done.total, byOutcome: done.byKey },
    blocked: { total: blocked.total, byReason: blocked.byKey },
    expired: counts.expired ?? 0,
    cancelled: counts.cancelled ?? 0,
    attempts: counts.attempts ?? 0,
    pace: { dialsPerMinute, estimatedFinishAt: running && left > 0 && measured > 0 ? new Date(now + (left / measured) * 60_000).toISOString() : null },
  };
}

export interface CampaignServiceDeps {
  redis: Redis;
  prefix: string;
  store: CampaignStore;
  contacts: ContactList;
  sweeps: CampaignSweeps;
  callQueue: Queue<CallJobData>;
  connect: ConnectSettings;
  /** Where appended contacts get their first call-log row, when the call log is kept (Supabase): so every contact has a row from the start. */
  logAppended?: Pick<CallLog, 'listed'>;
  /** Where its changes of state are announced (campaign.started, .paused…), when anyone listens. */
  events?: CampaignEvents;
  now?: () => number;
  logger: Logger;
}

/** The campaign as an operator works with it: its definition, its states, its contacts and its progress. */
export function createCampaignService({ redis, prefix, store, contacts, sweeps, callQueue, connect, logAppended, events, now = Date.now, logger }: CampaignServiceDeps) {
  const keys = campaignKeys(prefix);
  const announce = async (id: string, from: CampaignState, to: CampaignState) => {
    if (events?.wanted()) await events.changed((await store.get(id)) ?? { id, name: id }, from, to);
  };
  const transition = async (id: string, from: CampaignState[], to: CampaignState, action: string) => {
    const left = await store.transition(id, from, to, action);
    await announce(id, left, to);
    return left;
  };
  /** Appending to or retrying a completed campaign runs it again. */
  const reopening = async <T>(id: string, change: () => Promise<T>): Promise<T> => {
    const before = events?.wanted() && ((await redis.hget(keys.campaign(id), 'state')) as CampaignState | null);
    const result = await change();
    if (before === 'completed' && (await redis.hget(keys.campaign(id), 'state')) === 'running') await announce(id, 'completed', 'running');
    return result;
  };
  /** The campaign's policy checked as a call would be, with its connect mode and answering-machine policy settled. */
  const settle = (definition: CampaignDefinition): { definition: CampaignDefinition; usesSlots: boolean } => {
    const settled = settleConnect(templateCall(definition), connect);
    const { connect: mode, agentTarget, streamUrl, answeringMachine, machineDetection } = settled;
    // The answering-machine policy as settled (defaults filled in, or none when nothing depends on who answers).
    const { answeringMachine: _asked, ...asked } = definition.call;
    const call = { ...asked, connect: mode, ...(agentTarget && { agentTarget }), ...(streamUrl && { streamUrl }), ...(machineDetection && { machineDetection }), ...(answeringMachine && { answeringMachine }) };
    return { definition: { ...definition, call }, usesSlots: connectModeOf(settled) !== 'say' };
  };
  const existing = async (id: string): Promise<Campaign> => {
    const campaign = await store.get(id);
    if (!campaign) throw campaignNotFound(id);
    return campaign;
  };

  return {
    async create(definition: CampaignDefinition): Promise<Campaign> {
      const { definition: settled, usesSlots } = settle(definition);
      return store.create(settled, usesSlots);
    },

    get: existing,
    list: (offset: number, limit: number) => store.list(offset, limit),

    async progress({ id, state }: Pick<Campaign, 'id' | 'state'>): Promise<CampaignProgress> {
      const at = now();
      const minute = Math.floor(at / 60_000);
      const fields = Array.from({ length: PACE_MINUTES }, (_, index) => String(minute - index));
      const [counts, pace] = await Promise.all([readCounts(redis, prefix, id), redis.hmget(keys.pace(id), ...fields)]);
      // Measured from the oldest minute with a dial (minutes before the first dial do not slow it), the current one counted as far as it has gone.
      const oldest = pace.map((dials) => dials !== null).lastIndexOf(true);
      const dials = pace.reduce((sum, value) => sum + Number(value ?? 0), 0);
      return progressFrom(counts, { dials, minutes: oldest < 0 ? 0 : oldest + Math.max((at % 60_000) / 60_000, 1 / 60) }, at, state === 'running');
    },

    /** Changes the policy of a campaign not yet over; contacts already fed keep the policy they were fed with. */
    async update(id: string, changes: Partial<CampaignDefinition>): Promise<Campaign> {
      const current = await existing(id);
      const { id: _id, state: _state, createdAt: _created, updatedAt: _updated, ...definition } = current;
      const { definition: settled, usesSlots } = settle({ ...definition, ...changes, call: { ...definition.call, ...changes.call } });
      await store.update(id, settled, usesSlots, ['draft', 'running', 'paused', 'completed']);
      return existing(id);
    },

    remove: (id: string) => store.remove(id, ['draft', 'completed', 'cancelled']),

    start: (id: string) => transition(id, ['draft'], 'running', 'start'),
    pause: (id: string) => transition(id, ['running'], 'paused', 'pause'),

    /** Running again; the calls workers put aside while it was paused go back in line at once. */
    async resume(id: string): Promise<CampaignState> {
      const left = await transition(id, ['paused'], 'running', 'resume');
      for (;;) {
        const parked = await redis.spop(keys.parked(id), 500);
        if (parked.length === 0) break;
        for (const jobId of parked) {
          const job = await callQueue.getJob(jobId);
          if (job && (await job.isDelayed())) await job.promote().catch((error) => logger.warn({ err: error, jobId }, 'parked call could not be promoted'));
        }
      }
      return left;
    },

    /** Cancelled for good: what is not yet dialed is closed (the history stays); calls live go on to their end. */
    async cancel(id: string): Promise<CampaignState> {
      const left = await transition(id, ['draft', 'running', 'paused'], 'cancelled', 'cancel');
      await sweeps.cancelRest(id);
      return left;
    },

    async append(id: string, list: PlacedContact[], options: AppendOptions = {}) {
      const result = await reopening(id, () => contacts.append(id, list, options));
      if (logAppended && !options.dryRun && result.added > 0) {
        const campaign = await existing(id);
        const turnedAway = new Set(result.rejected.map(({ line }) => line));
        await logAppended.listed(
          list.filter(({ line }) => !turnedAway.has(line)).map((contact) => ({ jobId: contactJobId(id, contact.key, 0), data: contactCall(campaign, contact, 0, 0) })),
        );
      }
      return result;
    },

    /** Puts back the contacts whose last outcome is one of `outcomes`, for one more pass; answers how many. */
    async retry(id: string, outcomes: RetryOutcome[]): Promise<number> {
      const { state } = await existing(id);
      if (state === 'draft' || state === 'cancelled') throw campaignStateConflict(id, state, 'retry contacts');
      return reopening(id, () => sweeps.retry(id, outcomes.map(stateOfOutcome)));
    },
  };
}

export type CampaignService = ReturnType<typeof createCampaignService>;
