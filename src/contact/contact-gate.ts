import { DateTime } from 'luxon';
import { timeZonesOfNumber } from '../lib/number-time-zones.js';
import { isOpen, isOpenIn, nextOpening, SEARCH_DAYS } from './calling-window.js';
import type { ContactFacts, ContactStore, DncEntry } from './contact-store.js';
import { rulesFor, type ContactOverrides, type ContactRules } from './contact-rules.js';

export type GateDecision = 'dial' | 'defer' | 'refuse';
/**
 * Why: `allowed`; deferred for the `window`, a `frequency-cap` or a `min-gap`; refused for `dnc`,
 * `expired` (not lawfully callable before its notAfter) or `no-window` (its time zones share no
 * calling hours in the next two weeks).
 */
export type GateReason = 'allowed' | 'window' | 'frequency-cap' | 'min-gap' | 'dnc' | 'expired' | 'no-window';

export interface GateVerdict {
  decision: GateDecision;
  reason: GateReason;
  /** ISO time a deferred call may be dialed (within its window, after its caps). */
  until?: string;
  /** ISO time of the decision, by the service's clock. */
  at: string;
}

/** The service's clock: `now` in ms, and how long a wait of `ms` by it lasts in real time (tests run it fast). */
export interface Clock {
  now(): number;
  realDelayMs(ms: number): number;
}

export const systemClock: Clock = { now: () => Date.now(), realDelayMs: (ms) => ms };

/** Who is called, and what the call says of its own rules. */
export interface GateSubject extends ContactOverrides {
  to: string;
  notAfter?: string;
}

/** Where the zones of a number came from: the call's recipientTimezone, the number, or UTC when the number's data names none. */
export type ZoneSource = 'recipientTimezone' | 'number' | 'fallback';

export function zonesFor(subject: GateSubject): { zones: string[]; source: ZoneSource } {
  if (subject.recipientTimezone) return { zones: [subject.recipientTimezone], source: 'recipientTimezone' };
  const zones = timeZonesOfNumber(subject.to);
  return zones.length > 0 ? { zones, source: 'number' } : { zones: ['UTC'], source: 'fallback' };
}

/** Everything behind one decision, for the gate's explanations. */
export interface GateFindings {
  verdict: GateVerdict;
  rules: ContactRules;
  zones: string[];
  zoneSource: ZoneSource;
  windowOpen: boolean;
  facts: (ContactFacts & { dialed?: boolean }) | undefined;
}

export interface ContactGateDeps {
  store: Pick<ContactStore, 'facts' | 'forgetDial'>;
  defaults: ContactRules;
  clock: Clock;
}

const MAX_KNOWN_OPENINGS = 1_000;

/**
 * The contactability gate: whether a number may be dialed now, later (and when), or never, with
 * the reason. Everything it asks Redis (the do-not-call list, recent dials) is one script; with
 * `dial` a dial it allows is counted in that same step, so caps hold across every worker.
 */
export function createContactGate({ store, defaults, clock }: ContactGateDeps) {
  const knownOpenings = new Map<string, number>();
  /** Windows known open, by the minute they were open in: rules change only on whole minutes, so the answer holds for that minute. */
  const openInMinute = new Map<string, number>();

  /** The call's rules and zones, and whether its window is open at `now`: what every decision starts from. */
  const windowAt = (subject: GateSubject, now: number) => {
    const rules = rulesFor(defaults, subject);
    const { zones, source } = zonesFor(subject);
    const instant = DateTime.fromMillis(now, { zone: 'utc' });
    return { rules, zones, source, instant, open: isOpen(rules.window, zones, instant) };
  };

  async function decide(subject: GateSubject, options: { dial: boolean; member: string; gapExempt: boolean; at?: number }): Promise<GateFindings> {
    const now = options.at ?? clock.now();
    const at = new Date(now).toISOString();
    const { rules, zones, source, instant, open: windowOpen } = windowAt(subject, now);
    const findings = (verdict: Omit<GateVerdict, 'at'>, facts?: ContactFacts & { dialed?: boolean }): GateFindings => ({
      verdict: { ...verdict, at },
      rules,
      zones,
      zoneSource: source,
      windowOpen,
      facts,
    });
    const notAfter = subject.notAfter === undefined ? undefined : Date.parse(subject.notAfter);
    const facts = await store.facts(subject.to, now, rules.frequency, { dial: options.dial && windowOpen && (notAfter === undefined || now <= notAfter), member: options.member, gapExempt: options.gapExempt });
    if (facts.dnc) return findings({ decision: 'refuse', reason: 'dnc' }, facts);
    if (notAfter !== undefined && now > notAfter) return findings({ decision: 'refuse', reason: 'expired' }, facts);
    if (windowOpen && facts.heldUntil === null) return findings({ decision: 'dial', reason: 'allowed' }, facts);

    // Held back: until the window opens, or the cap or gap allows a dial and the window is open then.
    const earliest = facts.heldUntil === null ? instant : DateTime.fromMillis(Math.max(now, facts.heldUntil), { zone: 'utc' });
    let opening = nextOpening(rules.window, zones, earliest);
    if (!opening) {
      // Refused only when its zones never share calling hours; blackout dates alone only put it off (checked again then).
      if (!nextOpening({ ...rules.window, blackoutDates: [] }, zones, earliest)) return findings({ decision: 'refuse', reason: 'no-window' }, facts);
      opening = earliest.plus({ days: SEARCH_DAYS });
    }
    if (notAfter !== undefined && opening.toMillis() > notAfter) return findings({ decision: 'refuse', reason: 'expired' }, facts);
    const reason: GateReason = facts.heldUntil !== null && facts.heldBy ? facts.heldBy : 'window';
    return findings({ decision: 'defer', reason, until: opening.toISO()! }, facts);
  }

  return {
    /** Decides a call about to be dialed; a dial it allows is counted for the caps, under `counted`. */
    async check(subject: GateSubject, call: { jobId: string; gapExempt: boolean }): Promise<GateVerdict & { counted?: string }> {
      const member = `${call.jobId}:${clock.now()}`;
      const { verdict, facts } = await decide(subject, { dial: true, member, gapExempt: call.gapExempt });
      return { ...verdict, ...(verdict.decision === 'dial' && facts?.dialed && { counted: member }) };
    },

    /** A dial `check` counted that placed no call (the carrier refused it): it stops counting against the caps. */
    forget: (number: string, counted: string) => store.forgetDial(number, counted),

    /**
     * Whether the number is out of its window now (or past its notAfter), with no Redis asked: a
     * call the gate will hold back anyway is sent back before it takes a slot or a turn to dial.
     */
    heldBackByTime(subject: GateSubject): boolean {
      const now = clock.now();
      if (subject.notAfter !== undefined && now > Date.parse(subject.notAfter)) return true;
      return !windowAt(subject, now).open;
    },

    /**
     * A call out of its window now, as it is scheduled: deferred at once to the next opening (the
     * dial-time check still decides then). Undefined when the window is open, or when only the
     * dial-time check can say why not (no opening, or none before notAfter).
     */
    deferredByWindow(subject: GateSubject): GateVerdict | undefined {
      const now = clock.now();
      const { zones } = zonesFor(subject);
      // The calls of a bulk request share a few zones and windows: an opening found for one holds
      // for the others until it comes (the window is closed all the way to it).
      const key = `${zones.join(',')}|${subject.callingWindow ?? ''}|${subject.blackoutDates?.join(',') ?? ''}`;
      const minute = Math.floor(now / 60_000);
      if (openInMinute.get(key) === minute) return undefined;
      let opening = knownOpenings.get(key);
      if (opening === undefined || opening <= now) {
        const window = windowAt(subject, now);
        if (window.open) {
          if (openInMinute.size >= MAX_KNOWN_OPENINGS) openInMinute.clear();
          openInMinute.set(key, minute);
          return undefined;
        }
        opening = nextOpening(window.rules.window, zones, window.instant)?.toMillis();
        if (opening === undefined) return undefined;
        if (knownOpenings.size >= MAX_KNOWN_OPENINGS) knownOpenings.clear();
        knownOpenings.set(key, opening);
      }
      if (subject.notAfter !== undefined && opening > Date.parse(subject.notAfter)) return undefined;
      return { decision: 'defer', reason: 'window', until: new Date(opening).toISOString(), at: new Date(now).toISOString() };
    },

    /** Decides without counting a dial, and says why: for the API's explanations and previews. */
    explain: (subject: GateSubject, at?: number): Promise<GateFindings> => decide(subject, { dial: false, member: '', gapExempt: false, ...(at !== undefined && { at }) }),
  };
}

export type ContactGate = ReturnType<typeof createContactGate>;

/** The local time in each zone at `at`, and whether the window is open there. */
export function localTimes(findings: GateFindings, at: number) {
  return findings.zones.map((zone) => {
    const local = DateTime.fromMillis(at, { zone });
    return { zone, localTime: local.toISO({ suppressMilliseconds: true })!, open: isOpenIn(findings.rules.window, zone, local) };
  });
}

export type { DncEntry };
