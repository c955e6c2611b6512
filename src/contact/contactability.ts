import { DateTime } from 'luxon';
import { nextOpening } from './calling-window.js';
import type { ContactGate, GateDecision, GateFindings, GateReason, GateSubject } from './contact-gate.js';
import { localTimes } from './contact-gate.js';
import type { DncEntry } from './contact-store.js';

/** Whether a number may be called, when next, and every rule that applies: what GET /api/contactability answers. */
export interface ContactabilityView {
  number: string;
  at: string;
  decision: GateDecision;
  reason: GateReason;
  /** When a call to it may next be dialed: now, the deferral's end, or null when never. */
  nextAllowedAt: string | null;
  timeZones: string[];
  timeZoneSource: 'recipientTimezone' | 'number' | 'fallback';
  localTimes: Array<{ zone: string; localTime: string; open: boolean }>;
  rules: {
    callingWindow: { rules: Array<{ days: number[]; from: string; to: string }>; blackoutDates: string[]; open: boolean };
    doNotCall: { listed: boolean; entry: DncEntry | null };
    frequencyCap: { limits: Array<{ count: number; windowMs: number }>; dialsInWindow: number; heldUntil: string | null };
    minGap: { minutes: number; lastDialAt: string | null; heldUntil: string | null };
    notAfter: string | null;
  };
}

const clock = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function contactabilityView(subject: GateSubject, findings: GateFindings, at: number): ContactabilityView {
  const { verdict, rules, facts } = findings;
  return {
    number: subject.to,
    at: verdict.at,
    decision: verdict.decision,
    reason: verdict.reason,
    nextAllowedAt: verdict.decision === 'dial' ? verdict.at : (verdict.until ?? null),
    timeZones: findings.zones,
    timeZoneSource: findings.zoneSource,
    localTimes: localTimes(findings, at),
    rules: {
      callingWindow: { rules: rules.window.rules.map((rule) => ({ days: rule.days, from: clock(rule.from), to: clock(rule.to) })), blackoutDates: rules.window.blackoutDates, open: findings.windowOpen },
      doNotCall: { listed: Boolean(facts?.dnc), entry: facts?.dnc ?? null },
      frequencyCap: { limits: rules.frequency.caps, dialsInWindow: facts?.dialsInWindow ?? 0, heldUntil: facts?.heldBy === 'frequency-cap' ? iso(facts.heldUntil) : null },
      minGap: { minutes: rules.frequency.minGapMs / 60_000, lastDialAt: iso(facts?.lastDialAt), heldUntil: facts?.heldBy === 'min-gap' ? iso(facts.heldUntil) : null },
      notAfter: subject.notAfter ?? null,
    },
  };
}

export interface PreviewResult {
  counts: Record<GateDecision, number>;
  byReason: Partial<Record<GateReason, number>>;
  results: Array<{ number: string; decision: GateDecision; reason: GateReason; nextAllowedAt: string | null }>;
}

/** How many checks run at once: Redis takes them pipelined on one connection. */
const PREVIEW_CONCURRENCY = 200;

/**
 * A later call of the list to a number an earlier one would dial: the earlier dial counts against
 * the later's cap and gap, as it will when the list is dialed.
 */
function afterEarlierDials(findings: GateFindings, earlierDials: number, at: number): { decision: GateDecision; reason: GateReason; until: string | null } | undefined {
  if (earlierDials === 0 || findings.verdict.decision !== 'dial') return undefined;
  const { caps, minGapMs } = findings.rules.frequency;
  // The list's dials all come now, so a cap of N holds once N of them (with those already made) are in.
  const capped = caps.find((cap) => (findings.facts?.dialsInWindow ?? 0) + earlierDials >= cap.count);
  const heldUntil = capped
      ? { reason: 'frequency-cap' as const, until: at + capped.windowMs }
      : minGapMs > 0
        ? { reason: 'min-gap' as const, until: at + minGapMs }
        : undefined;
  if (!heldUntil) return undefined;
  const opening = nextOpening(findings.rules.window, findings.zones, DateTime.fromMillis(heldUntil.until, { zone: 'utc' }));
  return opening ? { decision: 'defer', reason: heldUntil.reason, until: opening.toISO() } : { decision: 'refuse', reason: 'no-window', until: null };
}

/** What the gate would decide for each call at `at`, as if the list were dialed in order, without scheduling or counting anything. */
export async function previewContactability(gate: Pick<ContactGate, 'explain'>, subjects: GateSubject[], at: number): Promise<PreviewResult> {
  const results: PreviewResult['results'] = [];
  const dialsInList = new Map<string, number>();
  for (let start = 0; start < subjects.length; start += PREVIEW_CONCURRENCY) {
    const batch = subjects.slice(start, start + PREVIEW_CONCURRENCY);
    const decided = await Promise.all(batch.map((subject) => gate.explain(subject, at)));
    decided.forEach((findings, index) => {
      const number = batch[index]!.to;
      const { verdict } = findings;
      const held = afterEarlierDials(findings, dialsInList.get(number) ?? 0, at);
      if (held) {
        results.push({ number, decision: held.decision, reason: held.reason, nextAllowedAt: held.until });
        return;
      }
      if (verdict.decision === 'dial') dialsInList.set(number, (dialsInList.get(number) ?? 0) + 1);
      results.push({ number, decision: verdict.decision, reason: verdict.reason, nextAllowedAt: verdict.decision === 'dial' ? verdict.at : (verdict.until ?? null) });
    });
  }
  const counts: PreviewResult['counts'] = { dial: 0, defer: 0, refuse: 0 };
  const byReason: PreviewResult['byReason'] = {};
  for (const result of results) {
    counts[result.decision] += 1;
    byReason[result.reason] = (byReason[result.reason] ?? 0) + 1;
  }
  return { counts, byReason, results };
}
