import { canonicalTimeZone } from '../lib/time-zone.js';
import { intersectWindows, parseCallingWindow, type CallingWindow } from './calling-window.js';
import type { FrequencyLimits } from './contact-store.js';

/** What decides when a number may be called: the calling window in its own time, and how often. */
export interface ContactRules {
  window: CallingWindow;
  frequency: FrequencyLimits;
}

/** The rules a call may set for itself, as it names them. */
export interface ContactOverrides {
  recipientTimezone?: string;
  callingWindow?: string;
  blackoutDates?: string[];
  frequencyCap?: string;
  minGapMinutes?: number;
}

export const DEFAULT_CALLING_WINDOW = 'Mon-Sun 08:00-21:00';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `3/24h`: at most 3 dials per 24 hours (units m, h, d); the problem in words otherwise. */
export function parseFrequencyCap(text: string): { count: number; windowMs: number } | string {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*([mhd])\s*$/.exec(text);
  if (!match) return `"${text}" is not a cap like 3/24h (dials per minutes m, hours h or days d)`;
  const count = Number(match[1]);
  const windowMs = Number(match[2]) * UNIT_MS[match[3] as keyof typeof UNIT_MS];
  if (count < 1) return 'a frequency cap allows at least one dial';
  if (windowMs < 1 || windowMs > 366 * UNIT_MS.d) return 'a frequency cap counts over 1 minute to 366 days';
  return { count, windowMs };
}

/** A local date as YYYY-MM-DD that exists on the calendar. */
export const isCalendarDate = (text: string) => /^\d{4}-\d{2}-\d{2}$/.test(text) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text);

/**
 * The rules for one call: a call may narrow the configured ones, never loosen them. Its window is
 * intersected with the configured one, its blackout dates added, its cap applied beside the
 * configured one, and the longer of the two gaps kept. The call's fields are already validated.
 */
export function rulesFor(defaults: ContactRules, overrides: ContactOverrides): ContactRules {
  const rules = overrides.callingWindow === undefined ? undefined : parseCallingWindow(overrides.callingWindow);
  const cap = overrides.frequencyCap === undefined ? undefined : parseFrequencyCap(overrides.frequencyCap);
  if (typeof rules === 'string' || typeof cap === 'string') throw new Error(`invalid contact rules reached the gate: ${typeof rules === 'string' ? rules : cap}`);
  const own: CallingWindow = { rules: rules ?? defaults.window.rules, blackoutDates: overrides.blackoutDates ?? [] };
  return {
    window: intersectWindows(defaults.window, own),
    frequency: {
      caps: cap ? [...defaults.frequency.caps, cap] : defaults.frequency.caps,
      minGapMs: Math.max(defaults.frequency.minGapMs, (overrides.minGapMinutes ?? 0) * 60_000),
    },
  };
}

/** The recipient's time zone as a call names it, by its canonical name; undefined when it is no IANA zone. */
export const recipientZone = (name: string) => canonicalTimeZone(name);

