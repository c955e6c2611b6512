import { DateTime } from 'luxon';

/** One rule of a calling window: these days of the week (1 = Monday … 7 = Sunday), from `from` to `to` minutes after local midnight. */
export interface WindowRule {
  days: number[];
  from: number;
  to: number;
}

/** When calls may be placed, in the called person's own time: rules, and local dates on which none may be. */
export interface CallingWindow {
  rules: WindowRule[];
  /** Local dates (YYYY-MM-DD) with no calls at all. */
  blackoutDates: string[];
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const RULE = /^([a-z]{3})(?:-([a-z]{3}))?\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})$/i;

/** How far ahead an opening is looked for: two weeks cover every weekly rule, DST switches and a few blackout dates. */
export const SEARCH_DAYS = 15;

/**
 * Parses `Mon-Fri 09:00-20:00,Sat 10:00-18:00`: comma-separated rules of a day or a range of days
 * (wrapping past Sunday, as in `Sat-Sun`), and local hours from 00:00 to 24:00, ending after they
 * start. Answers the problem in words when the text is not such a window.
 */
export function parseCallingWindow(text: string): WindowRule[] | string {
  const rules: WindowRule[] = [];
  for (const part of text.split(',').map((item) => item.trim())) {
    const match = RULE.exec(part);
    if (!match) return `"${part}" is not a rule like "Mon-Fri 09:00-20:00"`;
    const [, first, last, fromHours, fromMinutes, toHours, toMinutes] = match as unknown as [string, string, string | undefined, string, string, string, string];
    const start = DAYS.indexOf(first.toLowerCase());
    const end = DAYS.indexOf((last ?? first).toLowerCase());
    if (start < 0 || end < 0) return `"${part}": days are Mon, Tue, Wed, Thu, Fri, Sat and Sun`;
    const from = Number(fromHours) * 60 + Number(fromMinutes);
    const to = Number(toHours) * 60 + Number(toMinutes);
    if (Number(fromMinutes) > 59 || Number(toMinutes) > 59 || from >= 24 * 60 || to > 24 * 60) return `"${part}": hours run from 00:00 to 24:00`;
    if (to <= from) return `"${part}": the window ends before it starts`;
    const days: number[] = [];
    for (let day = start; ; day = (day + 1) % 7) {
      days.push(day + 1);
      if (day === end) break;
    }
    rules.push({ days, from, to });
  }
  return rules.length > 0 ? rules : 'a calling window needs at least one rule';
}

const minutesOf = (local: DateTime) => local.hour * 60 + local.minute + local.second / 60;

/** Whether the window is open at `at` in `zone`: a rule covers the local weekday and time, and the local date is not blacked out. */
export function isOpenIn(window: CallingWindow, zone: string, at: DateTime): boolean {
  const local = at.setZone(zone);
  if (window.blackoutDates.includes(local.toISODate()!)) return false;
  const minutes = minutesOf(local);
  return window.rules.some((rule) => rule.days.includes(local.weekday) && rule.from <= minutes && minutes < rule.to);
}

/** Open in every zone the number may be in: a number of several zones is called only when all of them allow it. */
export const isOpen = (window: CallingWindow, zones: readonly string[], at: DateTime) => zones.every((zone) => isOpenIn(window, zone, at));

/**
 * The first instant at or after `from` when the window is open in every zone, or undefined when it
 * opens in none of the next two weeks (zones too far apart to share any hours, or every day blacked
 * out). The window opens in all zones only at the start of one zone's rule (or at once), so those
 * starts, day by day in each zone's own calendar (DST-correct, through Luxon), are the candidates.
 */
export function nextOpening(window: CallingWindow, zones: readonly string[], from: DateTime): DateTime | undefined {
  if (isOpen(window, zones, from)) return from;
  for (let day = 0; day <= SEARCH_DAYS; day++) {
    const candidates: DateTime[] = [];
    for (const zone of zones) {
      const date = from.setZone(zone).startOf('day').plus({ days: day });
      for (const rule of window.rules) {
        if (!rule.days.includes(date.weekday)) continue;
        // A rule starting at a local time that a DST switch skips starts when the day reaches it.
        const start = date.set({ hour: Math.floor(rule.from / 60), minute: rule.from % 60 });
        if (start > from) candidates.push(start);
      }
    }
    candidates.sort((a, b) => a.toMillis() - b.toMillis());
    const opening = candidates.find((candidate) => isOpen(window, zones, candidate));
    if (opening) return opening.toUTC();
  }
  return undefined;
}

/** The hours of `rules` on one weekday, as sorted, merged [from, to) minute intervals. */
function hoursOn(rules: readonly WindowRule[], day: number): Array<[number, number]> {
  const intervals = rules.filter((rule) => rule.days.includes(day)).map((rule) => [rule.from, rule.to] as [number, number]).sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [from, to] of intervals) {
    const last = merged.at(-1);
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/**
 * The hours both windows allow, and the blackout dates of either: a call's own window can only
 * narrow the configured one, never widen it.
 */
export function intersectWindows(a: CallingWindow, b: CallingWindow): CallingWindow {
  const rules: WindowRule[] = [];
  for (let day = 1; day <= 7; day++) {
    for (const [aFrom, aTo] of hoursOn(a.rules, day)) {
      for (const [bFrom, bTo] of hoursOn(b.rules, day)) {
        const from = Math.max(aFrom, bFrom);
        const to = Math.min(aTo, bTo);
        if (from < to) rules.push({ days: [day], from, to });
      }
    }
  }
  return { rules, blackoutDates: [...new Set([...a.blackoutDates, ...b.blackoutDates])] };
}
