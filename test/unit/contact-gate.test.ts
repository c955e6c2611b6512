import { DateTime } from 'luxon';
import { describe, expect } from 'vitest';
import { timezones } from 'libphonenumber-geo-carrier';
import { parsePhoneNumberWithError } from 'libphonenumber-js';
import { parseCallingWindow } from '../../src/contact/calling-window.js';
import { createContactGate, type Clock, type GateSubject } from '../../src/contact/contact-gate.js';
import { DEFAULT_CALLING_WINDOW, type ContactRules } from '../../src/contact/contact-rules.js';
import { createContactStore } from '../../src/contact/contact-store.js';
import { timeZonesOfNumber } from '../../src/lib/number-time-zones.js';
import { test } from './unit-test.js';

const rules = (overrides: Partial<ContactRules['frequency']> = {}): ContactRules => ({
  window: { rules: parseCallingWindow(DEFAULT_CALLING_WINDOW) as never, blackoutDates: [] },
  frequency: { caps: [], minGapMs: 0, ...overrides },
});

/** A clock standing still at `iso` until moved. */
function stillClock(iso: string) {
  let now = Date.parse(iso);
  const clock: Clock & { set(iso: string): void; advance(ms: number): void } = {
    now: () => now,
    realDelayMs: (ms) => ms,
    set: (next) => void (now = Date.parse(next)),
    advance: (ms) => void (now += ms),
  };
  return clock;
}

const it = test.extend('gateAt', async ({ redis, prefix }) => {
  const store = createContactStore(redis, prefix);
  return (iso: string, defaults = rules()) => {
    const clock = stillClock(iso);
    return { store, clock, gate: createContactGate({ store, defaults, clock }) };
  };
});

const LA = '+14155550123';
const PHOENIX = '+16025550123';
const NEW_YORK = '+12125550123';
const check = (gate: ReturnType<typeof createContactGate>, subject: GateSubject, jobId = 'job-1') => gate.check(subject, { jobId, gapExempt: false });
const localHour = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toFormat('ccc HH:mm');

describe("the numbers' time zones, from libphonenumber's data", () => {
  it.for(['+14155550123', '+16025550123', '+13175550123', '+18125550123', '+12195550123', '+18005550123', '+442079460958', '+35312345678', '+61212345678'])(
    '%s: the same zones as libphonenumber-geo-carrier answers',
    async (number) => {
      expect(timeZonesOfNumber(number)).toEqual(await timezones(parsePhoneNumberWithError(number)));
    },
  );
});

describe("a number that may ring anywhere in its country has all the country's zones, as libphonenumber's mapper answers", () => {
  it.for([
    ['+61412345678', 'an Australian mobile', 'Australia/Perth'],
    ['+79141234567', 'a Russian mobile', 'Asia/Vladivostok'],
    ['+447911123456', 'a British mobile', 'Europe/London'],
  ] as const)('%s (%s) includes %s', ([number, , zone]) => {
    expect(timeZonesOfNumber(number)).toContain(zone);
    expect(timeZonesOfNumber(number).length).toBeGreaterThan(1);
  });

  it('a fixed line keeps the zones of its place', () => {
    expect(timeZonesOfNumber('+61892612000')).toEqual(['Australia/Adelaide', 'Australia/Perth']);
    expect(timeZonesOfNumber('+61212345678')).toEqual(['Australia/Sydney']);
  });
});

describe('calling windows in the called person’s own time', () => {
  it('dials California at 08:00 local and defers it at 07:59 to 08:00, across the spring-forward night', async ({ gateAt }) => {
    // Sunday 14 March 2027: at 02:00 Pacific the clocks go to 03:00 (PST, UTC-8, then PDT, UTC-7).
    const before = gateAt('2027-03-14T14:59:00Z');
    expect(await check(before.gate, { to: LA })).toMatchObject({ decision: 'defer', reason: 'window', until: '2027-03-14T15:00:00.000Z' });
    expect(localHour('2027-03-14T15:00:00Z', 'America/Los_Angeles')).toBe('Sun 08:00');
    const at = gateAt('2027-03-14T15:00:00Z');
    expect(await check(at.gate, { to: LA })).toMatchObject({ decision: 'dial', reason: 'allowed' });
  });

  it('keeps to local hours across the fall-back night, when 01:00-02:00 happens twice', async ({ gateAt }) => {
    // Sunday 7 November 2027: at 02:00 PDT the clocks go back to 01:00 PST. 08:00 local is 16:00 UTC that day.
    const { gate } = gateAt('2027-11-07T09:30:00Z');
    expect(await check(gate, { to: LA })).toMatchObject({ decision: 'defer', until: '2027-11-07T16:00:00.000Z' });
    const evening = gateAt('2027-11-07T05:00:00Z'); // 22:00 PDT on Saturday
    expect(await check(evening.gate, { to: LA })).toMatchObject({ decision: 'defer', until: '2027-11-07T16:00:00.000Z' });
  });

  it('Arizona keeps standard time all year: the same UTC hours in January and July', async ({ gateAt }) => {
    for (const date of ['2027-01-20', '2027-07-20']) {
      const { gate } = gateAt(`${date}T14:30:00Z`); // 07:30 in Phoenix, both seasons
      expect(await check(gate, { to: PHOENIX })).toMatchObject({ decision: 'defer', until: `${date}T15:00:00.000Z` });
    }
  });

  it('a recipientTimezone wins over the number: Indiana numbers the data puts in New York, called in Chicago time', async ({ gateAt }) => {
    const { gate } = gateAt('2027-06-02T12:30:00Z'); // 08:30 in New York, 07:30 in Chicago
    expect(timeZonesOfNumber('+12195550123')).toEqual(['America/New_York']);
    expect(await check(gate, { to: '+12195550123' })).toMatchObject({ decision: 'dial' });
    expect(await check(gate, { to: '+12195550123', recipientTimezone: 'America/Chicago' })).toMatchObject({ decision: 'defer', until: '2027-06-02T13:00:00.000Z' });
  });

  it('a number of several zones is called only in hours all of them allow; zones with none in common are refused', async ({ gateAt }) => {
    const { gate } = gateAt('2027-06-02T12:30:00Z');
    // Toll-free numbers map to every zone from Guam to Newfoundland: 08:00-21:00 holds in all of them
    // only from 08:00 in Guam (22:00 UTC) to 21:00 in St John's (23:30 UTC).
    expect(timeZonesOfNumber('+18005550123').length).toBeGreaterThan(30);
    expect(await check(gate, { to: '+18005550123' })).toMatchObject({ decision: 'defer', reason: 'window', until: '2027-06-02T22:00:00.000Z' });
    const inWindow = gateAt('2027-06-02T23:00:00Z');
    expect((await check(inWindow.gate, { to: '+18005550123' })).decision).toBe('dial');
    // Hours that never meet across those zones: refused, not deferred for ever.
    expect(await check(gate, { to: '+18005550123', callingWindow: 'Mon-Sun 08:00-09:00' })).toMatchObject({ decision: 'refuse', reason: 'no-window' });
  });

  it('per-call windows and blackout dates: Mon-Fri only, and not on a blacked-out Monday', async ({ gateAt }) => {
    const { gate } = gateAt('2027-06-05T18:00:00Z'); // Saturday 11:00 in California
    const verdict = await check(gate, { to: LA, callingWindow: 'Mon-Fri 09:00-17:00', blackoutDates: ['2027-06-07'] });
    expect(verdict).toMatchObject({ decision: 'defer', reason: 'window', until: '2027-06-08T16:00:00.000Z' });
    expect(localHour(verdict.until!, 'America/Los_Angeles')).toBe('Tue 09:00');
  });

  it('never defers past notAfter: the call is refused as expired', async ({ gateAt }) => {
    const { gate } = gateAt('2027-06-02T05:00:00Z'); // 22:00 in California
    expect(await check(gate, { to: LA, notAfter: '2027-06-02T12:00:00Z' })).toMatchObject({ decision: 'refuse', reason: 'expired' });
    expect(await check(gate, { to: LA, notAfter: '2027-06-02T15:30:00Z' })).toMatchObject({ decision: 'defer', until: '2027-06-02T15:00:00.000Z' });
    const late = gateAt('2027-06-02T20:00:00Z');
    expect(await check(late.gate, { to: LA, notAfter: '2027-06-02T19:00:00Z' })).toMatchObject({ decision: 'refuse', reason: 'expired' });
  });
});

describe("a call's own rules narrow the configured ones, never loosen them", () => {
  it('its window is intersected with the configured one; its blackout dates are added to them', async ({ gateAt }) => {
    const { gate } = gateAt('2027-06-02T06:00:00Z', { ...rules(), window: { rules: parseCallingWindow(DEFAULT_CALLING_WINDOW) as never, blackoutDates: ['2027-06-02'] } }); // 23:00 on 1 June in California
    expect(await check(gate, { to: LA, callingWindow: 'Mon-Sun 00:00-24:00' })).toMatchObject({ decision: 'defer', reason: 'window', until: '2027-06-03T15:00:00.000Z' });
    expect(await check(gate, { to: LA, callingWindow: 'Mon-Sun 12:00-23:00', blackoutDates: ['2027-06-03'] })).toMatchObject({ decision: 'defer', until: '2027-06-04T19:00:00.000Z' });
    // A window that never meets the configured one is refused, not deferred for ever.
    expect(await check(gate, { to: LA, callingWindow: 'Mon-Sun 22:00-23:00' })).toMatchObject({ decision: 'refuse', reason: 'no-window' });
  });

  it('its cap applies beside the configured one, and the longer gap wins', async ({ gateAt }) => {
    const { gate, clock } = gateAt('2027-06-02T18:00:00Z', rules({ caps: [{ count: 3, windowMs: 24 * 3_600_000 }], minGapMs: 10 * 60_000 }));
    expect((await check(gate, { to: LA, frequencyCap: '1000/1m', minGapMinutes: 0 }, 'a')).decision).toBe('dial');
    clock.advance(5 * 60_000);
    expect(await check(gate, { to: LA, frequencyCap: '1000/1m', minGapMinutes: 0 }, 'b')).toMatchObject({ decision: 'defer', reason: 'min-gap' });
    clock.advance(10 * 60_000);
    expect(await check(gate, { to: LA, frequencyCap: '1/1h' }, 'c')).toMatchObject({ decision: 'defer', reason: 'frequency-cap', until: '2027-06-02T19:00:00.000Z' });
  });

  it('a blackout of three weeks puts a call off past the search horizon, to be checked again, not refused', async ({ gateAt }) => {
    const { gate } = gateAt('2027-06-02T18:00:00Z');
    const blackoutDates = Array.from({ length: 21 }, (_, day) => DateTime.fromISO('2027-06-02').plus({ days: day }).toISODate()!);
    expect(await check(gate, { to: LA, blackoutDates })).toMatchObject({ decision: 'defer', reason: 'window', until: '2027-06-17T18:00:00.000Z' });
  });
});

describe('explaining changes nothing', () => {
  it('an explanation as of a far future time does not trim the dials the caps count', async ({ gateAt }) => {
    const { gate, store } = gateAt('2027-06-02T18:00:00Z', rules({ caps: [{ count: 1, windowMs: 24 * 3_600_000 }] }));
    expect((await check(gate, { to: LA }, 'first')).decision).toBe('dial');
    await gate.explain({ to: LA }, Date.parse('2031-01-01T18:00:00Z'));
    expect((await store.facts(LA, Date.parse('2027-06-02T19:00:00Z'), { caps: [{ count: 1, windowMs: 24 * 3_600_000 }], minGapMs: 0 }, { dial: false, member: '', gapExempt: false })).dialsInWindow).toBe(1);
    expect((await check(gate, { to: LA }, 'second')).decision).toBe('defer');
  });
});

describe('do-not-call entries are never weakened', () => {
  it('a later entry with an expiry does not shorten one without; a keypress opt-out stays one', async ({ gateAt }) => {
    const { store } = gateAt('2027-06-02T18:00:00Z');
    await store.putDnc({ key: LA, reason: 'pressed 9', source: 'keypress', addedAt: '2027-06-01T00:00:00.000Z', expiresAt: null });
    expect(await store.putDnc({ key: LA, reason: 'import', source: 'import', addedAt: '2027-06-02T00:00:00.000Z', expiresAt: '2027-07-01T00:00:00.000Z' })).toBe(false);
    expect(await store.getDnc(LA, Date.parse('2027-08-01T00:00:00Z'))).toMatchObject({ source: 'keypress', reason: 'pressed 9', expiresAt: null });
    await store.putDnc({ key: NEW_YORK, reason: null, source: 'api', addedAt: '2027-06-01T00:00:00.000Z', expiresAt: '2027-09-01T00:00:00.000Z' });
    await store.putDnc({ key: NEW_YORK, reason: null, source: 'api', addedAt: '2027-06-02T00:00:00.000Z', expiresAt: '2027-07-01T00:00:00.000Z' });
    expect(await store.getDnc(NEW_YORK, Date.parse('2027-06-03T00:00:00Z'))).toMatchObject({ expiresAt: '2027-09-01T00:00:00.000Z' });
  });
});

describe('do-not-call', () => {
  it('blocks a listed number and every number under a listed prefix, until an entry expires', async ({ gateAt }) => {
    const { gate, store, clock } = gateAt('2027-06-02T18:00:00Z');
    const added = new Date(clock.now()).toISOString();
    await store.putDnc({ key: LA, reason: 'asked', source: 'api', addedAt: added, expiresAt: null });
    await store.putDnc({ key: '+1212*', reason: null, source: 'import', addedAt: added, expiresAt: '2027-06-03T00:00:00Z' });
    expect(await check(gate, { to: LA })).toMatchObject({ decision: 'refuse', reason: 'dnc' });
    expect(await check(gate, { to: NEW_YORK })).toMatchObject({ decision: 'refuse', reason: 'dnc' });
    expect(await check(gate, { to: '+14155550124' })).toMatchObject({ decision: 'dial' });
    clock.set('2027-06-03T14:00:00Z'); // 10:00 in New York: the prefix entry has expired
    expect(await check(gate, { to: NEW_YORK })).toMatchObject({ decision: 'dial' });
    expect(await check(gate, { to: LA, callingWindow: 'Mon-Sun 00:00-24:00' })).toMatchObject({ decision: 'refuse', reason: 'dnc' });
  });

  it('blocks a listed number even outside its window, before any other rule', async ({ gateAt }) => {
    const { gate, store } = gateAt('2027-06-02T05:00:00Z');
    await store.putDnc({ key: LA, reason: null, source: 'api', addedAt: '2027-06-01T00:00:00Z', expiresAt: null });
    expect(await check(gate, { to: LA, notAfter: '2027-06-01T00:00:00Z' })).toMatchObject({ decision: 'refuse', reason: 'dnc' });
  });
});

describe('frequency caps and the minimum gap, counted across every caller at once', () => {
  it('of ten checks at the same instant, exactly three dial under 3/24h; the rest wait for the oldest to leave the window', async ({ gateAt }) => {
    const { gate, clock } = gateAt('2027-06-02T18:00:00Z', rules({ caps: [{ count: 3, windowMs: 24 * 3_600_000 }] }));
    const verdicts = await Promise.all(Array.from({ length: 10 }, (_, index) => check(gate, { to: LA }, `job-${index}`)));
    expect(verdicts.filter((verdict) => verdict.decision === 'dial')).toHaveLength(3);
    expect(verdicts.filter((verdict) => verdict.decision === 'defer').map((verdict) => [verdict.reason, verdict.until])).toEqual(Array(7).fill(['frequency-cap', '2027-06-03T18:00:00.000Z']));
    clock.set('2027-06-03T18:00:00Z');
    expect((await check(gate, { to: LA }, 'job-late')).decision).toBe('dial');
  });

  it("a dial another worker stamped a moment later by its own clock still counts", async ({ gateAt }) => {
    const { gate, clock } = gateAt('2027-06-02T18:00:00.010Z', rules({ caps: [{ count: 1, windowMs: 24 * 3_600_000 }] }));
    expect((await check(gate, { to: LA }, 'ahead')).decision).toBe('dial');
    clock.set('2027-06-02T18:00:00.000Z'); // a worker whose clock is 10 ms behind
    expect(await check(gate, { to: LA }, 'behind')).toMatchObject({ decision: 'defer', reason: 'frequency-cap' });
  });

  it('a cap that frees a dial at night defers to the next morning', async ({ gateAt }) => {
    const { gate } = gateAt('2027-06-03T03:30:00Z', rules({ caps: [{ count: 1, windowMs: 3_600_000 }] })); // 20:30 in California
    expect((await check(gate, { to: LA }, 'first')).decision).toBe('dial');
    expect(await check(gate, { to: LA }, 'second')).toMatchObject({ decision: 'defer', reason: 'frequency-cap', until: '2027-06-03T15:00:00.000Z' });
  });

  it('the minimum gap holds the next dial back; a callback asked for within the hour is exempt from it', async ({ gateAt }) => {
    const { gate, clock } = gateAt('2027-06-02T18:00:00Z', rules({ minGapMs: 60 * 60_000 }));
    expect((await check(gate, { to: LA }, 'first')).decision).toBe('dial');
    clock.advance(10 * 60_000);
    expect(await check(gate, { to: LA }, 'second')).toMatchObject({ decision: 'defer', reason: 'min-gap', until: '2027-06-02T19:00:00.000Z' });
    expect(await gate.check({ to: LA }, { jobId: 'callback', gapExempt: true })).toMatchObject({ decision: 'dial' });
  });

  it('explaining counts nothing', async ({ gateAt }) => {
    const { gate } = gateAt('2027-06-02T18:00:00Z', rules({ caps: [{ count: 1, windowMs: 3_600_000 }] }));
    for (let index = 0; index < 3; index++) expect((await gate.explain({ to: LA })).verdict.decision).toBe('dial');
    expect((await check(gate, { to: LA })).decision).toBe('dial');
    expect((await gate.explain({ to: LA })).verdict).toMatchObject({ decision: 'defer', reason: 'frequency-cap' });
  });
});
