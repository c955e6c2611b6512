import { describe, expect, it } from 'vitest';
import { contactStateOf, rowOrder, slotClaimOf } from '../../src/campaigns/campaign-progress.js';
import { progressFrom } from '../../src/campaigns/campaign-service.js';
import { renderMessage } from '../../src/campaigns/campaign-definition.js';

const row = (status: string, extra: Partial<{ reason: string | null; outcome: string | null; final: boolean; redial_number: number }> = {}) => ({ status, reason: null, outcome: null, final: false, redial_number: 0, ...extra });

describe('a contact’s state from its latest call-log row', () => {
  it.each([
    [row('scheduled'), 'pending'],
    [row('dial-failed'), 'pending'],
    [row('deferred', { reason: 'frequency-cap' }), 'deferred:frequency-cap'],
    [row('blocked', { reason: 'dnc', final: true }), 'blocked:dnc'],
    [row('blocked', { reason: 'expired', final: true }), 'expired'],
    [row('cancelled', { final: true }), 'cancelled'],
    [row('error', { final: true }), 'done:failed'],
    [row('dialing'), 'dialing'],
    [row('ringing'), 'dialing'],
    [row('in-progress'), 'live'],
    [row('completed', { final: true, outcome: 'voicemail-left' }), 'done:voicemail-left'],
    [row('busy', { final: true, outcome: 'busy' }), 'done:busy'],
  ] as const)('%o is %s', (given, state) => {
    expect(contactStateOf(given)).toBe(state);
  });

  it('claims a share of slots from the dial to the end of the call, and gives it back on a retry, a redial, a deferral or an end', () => {
    expect(slotClaimOf(row('dialing'), 'dialing')).toBe('+');
    expect(slotClaimOf(row('in-progress'), 'live')).toBe('+');
    expect(slotClaimOf(row('scheduled'), 'pending')).toBe('');
    expect(slotClaimOf(row('scheduled', { redial_number: 1 }), 'pending')).toBe('-');
    expect(slotClaimOf(row('dial-failed'), 'pending')).toBe('-');
    expect(slotClaimOf(row('deferred'), 'deferred:window')).toBe('-');
    expect(slotClaimOf(row('busy', { final: true }), 'done:busy')).toBe('-');
  });

  it('orders rows by pass, redial, attempt and version, as text', () => {
    const ordered = [rowOrder(0, 0, 1, 0), rowOrder(0, 0, 1, 12), rowOrder(0, 0, 2, 3), rowOrder(0, 1, 1, 0), rowOrder(1, 0, 0, 0), rowOrder(10, 0, 0, 0)];
    expect([...ordered].sort()).toEqual(ordered);
  });
});

describe('progress', () => {
  const counts = { contacts: 100, pending: 40, 'deferred:window': 10, dialing: 10, live: 5, 'done:completed': 30, 'done:busy': 5, attempts: 60 };

  it('groups the states and estimates the finish at the measured pace while running', () => {
    const progress = progressFrom(counts, { dials: 30, minutes: 2 }, Date.parse('2030-01-01T00:00:00Z'));
    expect(progress).toMatchObject({ pending: 40, deferred: { total: 10, byReason: { window: 10 } }, done: { total: 35, byOutcome: { completed: 30, busy: 5 } }, pace: { dialsPerMinute: 15 } });
    // 60 left (pending, deferred, dialing) at 15 a minute: four minutes.
    expect(progress.pace.estimatedFinishAt).toBe('2030-01-01T00:04:00.000Z');
  });

  it('estimates no finish for a campaign that is not running, or has not dialed yet', () => {
    expect(progressFrom(counts, { dials: 30, minutes: 2 }, 0, false).pace.estimatedFinishAt).toBeNull();
    expect(progressFrom(counts, { dials: 0, minutes: 0 }, 0).pace.estimatedFinishAt).toBeNull();
  });
});

describe('the message of a contact', () => {
  it('takes the contact’s variables, and leaves nothing of a variable it lacks', () => {
    expect(renderMessage('Hi {{ first_name }}, from {{company}}{{missing}}.', { first_name: 'Ada', company: 'Acme' })).toBe('Hi Ada, from Acme.');
    expect(renderMessage('No variables here', undefined)).toBe('No variables here');
  });
});
