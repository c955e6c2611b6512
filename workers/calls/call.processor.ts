import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { CallRecordStore } from '../../src/calls/call-record-store.js';
import { DialError, type Carrier, type FoundCall } from '../../src/carriers/carrier.js';
import { TWILIO_WEBHOOK_PATHS } from '../../src/carriers/twilio/webhook-paths.js';
import type { CallActivity } from '../../src/calls/call-activity.js';
import type { CallJobData, CallJobResult } from '../../src/jobs/call-jobs.js';
import { maskNumber } from '../../src/lib/mask-number.js';
import type { Logger } from '../../src/logger.js';
import type { Metrics } from '../../src/metrics.js';
import type { CallLog } from '../../src/call-log/call-log-writer.js';
import type { CapacityService } from '../../src/capacity/capacity-service.js';
import type { StatusPolls } from '../call-status/status-polls.js';
import { ConnectError, dialPlan, type DialPlan } from '../../src/connect/connect-plan.js';
import type { ConnectSettings } from '../../src/connect/connect-settings.js';
import type { Clock, ContactGate, GateVerdict } from '../../src/contact/contact-gate.js';
import type { CampaignControl, CampaignVerdict } from '../../src/campaigns/campaign-control.js';
import { putBack } from './back-in-line.js';
import type { CallPacer } from './call-pacer.js';
import type { SlotWait } from './slot-wait.js';

export interface CallProcessorDeps {
  dialer: Carrier;
  callRecords: CallRecordStore;
  defaultFrom: string;
  /** Base URL of this API for status callbacks; without it, placed calls are polled instead. */
  callbackBaseUrl?: string;
  maxCallDurationSeconds: number;
  /** Follows a placed call's status by polling, when no callbacks can arrive. */
  statusPolls?: Pick<StatusPolls, 'track'>;
  callLog: CallLog;
  /** Live-call capacity: a dial needs a slot, and gives it back when no call came of it. */
  capacity: Pick<CapacityService, 'acquire' | 'release'>;
  /** Where a call waits, keeping its place, while no slot is free. */
  slotWait: Pick<SlotWait, 'wait'>;
  /** The rate limit's turns, shared by every worker. */
  pacer: Pick<CallPacer, 'waitForTurn'>;
  /** Aborted when the worker closes: a call waiting for its turn goes back in line instead. */
  closing: AbortSignal;
  /** How answered calls reach the voice agent: what each dial asks of the carrier, and whether it holds a slot. */
  connect: ConnectSettings;
  /** Whether the number may be dialed now, later or never: asked immediately before every dial. */
  gate: Pick<ContactGate, 'check' | 'explain' | 'heldBackByTime' | 'forget'>;
  /** Campaigns' states in memory: a paused campaign's call is put aside, a cancelled one's closed, never dialed. */
  campaigns?: Pick<CampaignControl, 'verdict' | 'verdictNow' | 'taken' | 'parked'>;
  /** The service's clock (the gate's decisions and a deferral's wait are by it). */
  clock: Clock;
  /** Dials a minute, for the operator console. */
  activity?: Pick<CallActivity, 'dialed'>;
  metrics?: Pick<Metrics, 'dials' | 'carrierErrors' | 'dialLatency' | 'gateDecisions' | 'campaignDials' | 'campaignGateDecisions'>;
  logger: Logger;
}

/** A call put aside while its campaign is paused comes back this long after, if no resume promoted it first. */
export const PARKED_MS = 10 * 60_000;

/** Clocks differ and Twilio's DateCreated has whole seconds: look a little before the dial. */
const LOOKUP_MARGIN_MS = 60_000;

export const statusCallbackUrl = (base: string, jobId: string) =>
  `${base.replace(/\/+$/, '')}${TWILIO_WEBHOOK_PATHS.status}?jobId=${encodeURIComponent(jobId)}`;

/**
 * One dial attempt: the job completes once the carrier accepts the call; the call's own life is
 * followed beside it. Never dials twice for one job: the SID is stored the moment it is known, and
 * when an earlier request may have created a call (the worker died, or the answer was lost) the
 * carrier is asked first.
 */
export async function processCall(job: Job<CallJobData>, deps: CallProcessorDeps, token?: string): Promise<CallJobResult> {
  const jobId = job.id!;
  const { to } = job.data;
  const from = job.data.from ?? deps.defaultFrom;
  const attempt = job.attemptsMade + 1;
  const log = deps.logger.child({ jobId, attempt, to: maskNumber(to) });
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  /**
   * What a takeover after a failover must find, on the replicas before the worker goes on. False
   * when a replica did not confirm it in time (or could not be asked): the caller decides.
   */
  const replicated = async (what: string): Promise<boolean> => {
    try {
      const shortfall = await deps.callRecords.confirmReplicated?.();
      if (shortfall) log.warn({ ...shortfall }, `${what} not confirmed on a Redis replica in time`);
      return !shortfall;
    } catch (error) {
      log.warn({ err: error }, `${what} could not be confirmed on a Redis replica`);
      return false;
    }
  };

  const countDial = (outcome: string) => {
    deps.metrics?.dials.inc({ outcome });
    if (outcome === 'placed') void deps.activity?.dialed().catch((error) => log.warn({ err: error }, 'the dial could not be counted for the console'));
    if (job.data.campaignId) deps.metrics?.campaignDials.inc({ campaign: job.data.campaignId, outcome });
  };

  const adopt = async (call: FoundCall | { sid: string; status: string }, outcome: 'placed' | 'recovered' | 'already-placed') => {
    if (outcome !== 'already-placed') {
      await deps.callRecords.recordPlaced(jobId, call.sid, attempt, { status: call.status, at: new Date().toISOString(), callSid: call.sid });
      await replicated('call SID');
      await deps.callLog.call(jobId, job.data);
    }
    await deps.statusPolls?.track(jobId, call.sid);
    log.info({ outcome, callSid: call.sid, durationMs: elapsed() }, outcome === 'placed' ? 'call placed' : 'call already placed; not dialing again');
    countDial(outcome);
    if (outcome === 'placed') deps.metrics?.dialLatency.observe(elapsed() / 1000);
    return { callSid: call.sid, callStatus: call.status };
  };

  /** A call to this number from this caller id, created since the dial, that no other job claims. */
  const findEarlierCall = async (dialedAt: Date): Promise<FoundCall | undefined> => {
    if (!deps.dialer.findCalls) return undefined;
    const calls = await deps.dialer.findCalls({ to, from, since: new Date(dialedAt.getTime() - LOOKUP_MARGIN_MS) });
    for (const call of calls) {
      const owner = await deps.callRecords.jobIdForSid(call.sid);
      if (owner === undefined || owner === jobId) return call;
    }
    return undefined;
  };

  // A job's first start can have dialed nothing yet: only a later one needs to know what an earlier did.
  const record = job.attemptsStarted > 1 ? await deps.callRecords.get(jobId) : undefined;
  if (record?.callSid) return adopt({ sid: record.callSid, status: record.callStatus ?? 'queued' }, 'already-placed');
  if (record?.dialedAt) {
    const earlier = await findEarlierCall(new Date(record.dialedAt));
    if (earlier) return adopt(earlier, 'recovered');
  }

  /** Records the gate's verdict; anything but `dial` ends the attempt: back among the delayed calls, or failed for good. */
  const heedGate = async (verdict: GateVerdict, letGo: () => Promise<void>) => {
    if (verdict.decision !== 'dial') await letGo();
    await deps.callRecords.recordGate(jobId, verdict);
    deps.metrics?.gateDecisions.inc({ decision: verdict.decision, reason: verdict.reason });
    if (job.data.campaignId) deps.metrics?.campaignGateDecisions.inc({ campaign: job.data.campaignId, decision: verdict.decision, reason: verdict.reason });
    if (verdict.decision === 'dial') return;
    if (verdict.decision === 'defer') {
      await deps.callLog.attempt(jobId, job.data, attempt, { status: 'deferred', reason: verdict.reason, until: verdict.until! });
      log.info({ gate: verdict }, 'call deferred by the contactability gate');
      // Back among the delayed calls, keeping its id and priority, until the gate allows it.
      await job.moveToDelayed(Date.now() + deps.clock.realDelayMs(Date.parse(verdict.until!) - deps.clock.now()), token);
      throw new DelayedError();
    }
    await deps.callLog.attempt(jobId, job.data, attempt, { status: 'blocked', reason: verdict.reason });
    log.warn({ gate: verdict }, 'call blocked by the contactability gate');
    throw new UnrecoverableError(`blocked by the contactability gate: ${verdict.reason}`);
  };

  /** A paused campaign's call waits aside, keeping its id, until a resume promotes it; a cancelled one's is closed. */
  const heedCampaign = async (verdict: CampaignVerdict, letGo: () => Promise<void>) => {
    if (verdict === 'dial') return;
    await letGo();
    const campaignId = job.data.campaignId!;
    if (verdict === 'park') {
      await deps.campaigns!.parked(campaignId, jobId, job.data.contactId ?? '');
      log.info({ campaignId }, 'campaign paused: call put aside until it resumes');
      await job.moveToDelayed(Date.now() + PARKED_MS, token);
      throw new DelayedError();
    }
    await deps.callLog.attempt(jobId, job.data, attempt, { status: 'cancelled' });
    log.info({ campaignId }, 'campaign cancelled: call closed without a dial');
    throw new UnrecoverableError('campaign cancelled');
  };
  const campaignId = job.data.campaignId;
  if (campaignId && deps.campaigns) {
    await deps.campaigns.taken(campaignId, jobId);
    const holdsSlot = job.attemptsStarted > 1;
    await heedCampaign(await deps.campaigns.verdict(campaignId), async () => void (holdsSlot && (await deps.capacity.release({ jobId, data: job.data }))));
  }

  // Out of its hours: held back before it takes a slot or a turn to dial, so a backlog at night is
  // sorted at once instead of at the dial rate. (Nothing is counted: the dial, if any, is later.)
  if (deps.gate.heldBackByTime(job.data)) {
    const { verdict } = await deps.gate.explain(job.data);
    // A callback holds the slot its caller was given, and a retry after an ambiguous dial kept its own: neither waits idle.
    const holdsSlot = Boolean(job.data.capacityHolder) || job.attemptsStarted > 1;
    if (verdict.decision !== 'dial') await heedGate(verdict, async () => void (holdsSlot && (await deps.capacity.release({ jobId, data: job.data }))));
  }

  let plan: DialPlan;
  try {
    plan = dialPlan(jobId, job.data, deps.connect);
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    log.error({ error: error.message }, 'call cannot be placed as it was asked');
    throw new UnrecoverableError(error.message);
  }
  // Only a call that may reach the voice agent takes one of the agent's slots.
  const slotOwner = { jobId, data: job.data };
  if (plan.usesAgent && !(await deps.capacity.acquire(slotOwner))) return deps.slotWait.wait(job, token);
  const releaseSlot = async () => {
    if (plan.usesAgent) await deps.capacity.release(slotOwner);
  };
  /** Nothing was dialed after all: no marker left to look up, no slot held. */
  const abandonDial = async () => {
    await deps.callRecords.clearDialing(jobId);
    await releaseSlot();
  };

  const dialedAt = new Date();
  await deps.callRecords.markDialing(jobId, dialedAt);
  // No replica holds the marker (a failover under way): dialing now could dial again after the
  // switch, when the marker is gone. Nothing is dialed yet, so the call waits in line instead.
  if (!(await replicated('dial marker'))) {
    await abandonDial();
    return putBack(job, token);
  }
  // Calling hours in the callee's time, do-not-call, caps, expiry: decided (and a dial counted)
  // before the turn, so that nothing but CPU stands between the turn and the dial.
  let verdict: GateVerdict & { counted?: string };
  try {
    verdict = await deps.gate.check(job.data, { jobId, gapExempt: isRecentCallback(job, deps.clock) });
  } catch (error) {
    // A number that could not be checked is not dialed: the job is tried again later.
    log.warn({ err: error }, 'contactability gate could not decide; the call will be tried again');
    await abandonDial();
    throw error;
  }
  await heedGate(verdict, abandonDial);
  /** The counted dial will not be made after all: it stops counting against the number's caps. */
  const uncount = async () => {
    if (verdict.counted) await deps.gate.forget(to, verdict.counted);
  };
  // The turn as close to the dial as can be, so that calls reach the carrier as evenly spaced as their turns.
  if (deps.pacer.waitForTurn && !(await deps.pacer.waitForTurn(deps.closing))) {
    log.info('worker closing: call put back before its turn to dial');
    await uncount();
    await abandonDial();
    return putBack(job, token);
  }
  // Paused or cancelled while the call waited for its turn: from memory, no Redis between the turn and the dial.
  if (campaignId && deps.campaigns) {
    const late = deps.campaigns.verdictNow(campaignId);
    if (late !== 'dial') {
      await uncount();
      await heedCampaign(late, abandonDial);
    }
  }
  // The wait for the turn may have run past the end of the window (no Redis asked: the dial is due now).
  if (deps.gate.heldBackByTime(job.data)) {
    await uncount();
    const { verdict: late } = await deps.gate.explain(job.data);
    if (late.decision !== 'dial') await heedGate(late, abandonDial);
  }
  await deps.callLog.attempt(jobId, job.data, attempt, { status: 'dialing', dialedAt: dialedAt.toISOString() });
  try {
    const placed = await deps.dialer.placeCall({
      to,
      from,
      answer: plan.answer,
      ...(deps.callbackBaseUrl && { statusCallbackUrl: statusCallbackUrl(deps.callbackBaseUrl, jobId) }),
      ...(plan.machineDetection && { machineDetection: plan.machineDetection }),
      ...(plan.asyncAmdCallbackUrl && { asyncAmdCallbackUrl: plan.asyncAmdCallbackUrl }),
      ...(job.data.timeout !== undefined && { timeoutSeconds: job.data.timeout }),
      ...(job.data.record !== undefined && { record: job.data.record }),
      timeLimitSeconds: deps.maxCallDurationSeconds,
    });
    return await adopt(placed, 'placed');
  } catch (error) {
    if (error instanceof UnrecoverableError) throw error;
    const dialError = error instanceof DialError ? error : new DialError(String((error as Error)?.message ?? error), { retryable: true, ambiguous: true });
    if (!dialError.ambiguous) {
      await deps.callRecords.clearDialing(jobId);
      // No call came of it: it does not count against the number's caps.
      await uncount();
    } else if (dialError.retryable) {
      // Twilio has no idempotency key: a 5xx or a timeout may hide a call it created.
      const earlier = await findEarlierCall(dialedAt);
      if (earlier) return adopt(earlier, 'recovered');
    }
    const willRetry = dialError.retryable && attempt < (job.opts.attempts ?? 1);
    countDial(willRetry ? 'retrying' : 'failed');
    deps.metrics?.carrierErrors.inc({ code: String(dialError.code ?? 'unknown') });
    deps.metrics?.dialLatency.observe(elapsed() / 1000);
    // A dial that may have created a call keeps its slot until the next attempt finds that call or
    // dials again, so a call recovered by the look-up is never live without a slot. Otherwise no
    // call came of it: the slot goes back (a retry takes one again).
    if (!(dialError.ambiguous && willRetry)) await releaseSlot();
    await deps.callLog.attempt(jobId, job.data, attempt, {
      status: willRetry ? 'dial-failed' : 'error',
      dialedAt: dialedAt.toISOString(),
      ...(dialError.code !== undefined && { errorCode: String(dialError.code) }),
      errorMessage: dialError.message,
    });
    log[willRetry ? 'warn' : 'error'](
      { outcome: willRetry ? 'retrying' : 'failed', code: dialError.code, error: dialError.message, retryAfterMs: dialError.retryAfterMs, durationMs: elapsed() },
      willRetry ? 'dial failed; will retry' : 'dial failed',
    );
    if (!dialError.retryable) throw new UnrecoverableError(dialError.message);
    throw dialError;
  }
}

const CALLBACK_GAP_EXEMPTION_MS = 3_600_000;

/** A callback the caller asked for within the hour is not held back by the minimum gap (the list still applies). */
const isRecentCallback = (job: Job<CallJobData>, clock: Clock) => Boolean(job.data.callbackFor) && clock.now() - job.timestamp < CALLBACK_GAP_EXEMPTION_MS;

/** Exponential backoff from the job's delay, never sooner than the carrier's `Retry-After`. */
export function carrierBackoff(attemptsMade: number, delayMs: number, error: Error | undefined): number {
  const exponential = delayMs * 2 ** Math.max(0, attemptsMade - 1);
  const retryAfter = error instanceof DialError ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(exponential, retryAfter);
}
