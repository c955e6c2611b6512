import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { attemptRow, callRow } from '../../src/call-log/call-log-writer.js';
import type { CallRecord } from '../../src/calls/call-record-store.js';
import { campaignEvent } from '../../src/events/announcements.js';
import { callEventsOf } from '../../src/events/call-events.js';
import { checkDestination, isPublicAddress } from '../../src/events/destination-guard.js';
import { retryAfterMs, signedHeaders } from '../../src/events/event-delivery.js';
import type { WebhookEvent } from '../../src/events/event-types.js';
import type { CallJobData } from '../../src/jobs/call-jobs.js';
import { retryDelay } from '../../workers/events/event-delivery.processor.js';

const NOW = '2026-12-05T10:00:00.000Z';
const data: CallJobData = { to: '+14155550123', message: 'Hi', priority: 'normal', lead_id: 'L-1', metadata: { crm: 'x' } } as CallJobData;
const record = (timeline: Array<[string, string]>, extra: Partial<CallRecord> = {}): CallRecord => ({
  callSid: 'CA1',
  callStatus: timeline.at(-1)![0],
  final: ['completed', 'busy', 'no-answer', 'failed', 'canceled'].includes(timeline.at(-1)![0]),
  timeline: timeline.map(([status, at]) => ({ status, at })),
  dialedAt: '2026-12-05T10:00:01.000Z',
  placedAttempt: 1,
  ...extra,
});
const typesOf = (row: Parameters<typeof callEventsOf>[0]) => callEventsOf(row, NOW).map(({ event }) => event.type);

describe('call events from call-log rows', () => {
  it('name each change once: a later row repeats earlier changes under the same ids, in the order they happened', () => {
    const ringing = callRow('job-1', data, 3, record([['initiated', '2026-12-05T10:00:02Z'], ['ringing', '2026-12-05T10:00:03Z']]));
    const ended = callRow('job-1', data, 5, record([['initiated', '2026-12-05T10:00:02Z'], ['ringing', '2026-12-05T10:00:03Z'], ['in-progress', '2026-12-05T10:00:04Z'], ['completed', '2026-12-05T10:00:30Z']], { durationSeconds: 26, answeredBy: 'human' }));
    const early = callEventsOf(ringing, NOW);
    const late = callEventsOf(ended, NOW);
    expect(early.map(({ event }) => event.type)).toEqual(['call.scheduled', 'call.dialing', 'call.ringing']);
    expect(late.map(({ event }) => event.type)).toEqual(['call.scheduled', 'call.dialing', 'call.ringing', 'call.answered', 'call.completed']);
    expect(late.slice(0, 3).map(({ event }) => event.id)).toEqual(early.map(({ event }) => event.id));
    expect(new Set(late.map(({ event }) => event.id)).size).toBe(5);
    expect(late.at(-1)!.event).toMatchObject({ timestamp: '2026-12-05T10:00:30Z', data: { jobId: 'job-1', leadId: 'L-1', metadata: { crm: 'x' }, outcome: 'completed', durationSeconds: 26, answeredBy: 'human', callSid: 'CA1' } });
    expect(late.every(({ lane }) => lane === 'call:job-1')).toBe(true);
  });

  it('tell a redial, a deferral, a block, a dial that failed and one that will be retried apart', () => {
    expect(typesOf(attemptRow('redial-job-1-1', { ...data, redialNumber: 1, redialOf: 'job-1', rootJobId: 'job-1' }, 1, 0, { status: 'scheduled' }))).toEqual(['call.redial_scheduled']);
    expect(callEventsOf(attemptRow('redial-job-1-1', { ...data, redialNumber: 1, rootJobId: 'job-1' }, 1, 0, { status: 'scheduled' }), NOW)[0]!.lane).toBe('call:job-1');
    expect(typesOf(attemptRow('job-2', data, 1, 0, { status: 'deferred', reason: 'outside-window', until: '2026-12-05T16:00:00Z' }))).toEqual(['call.scheduled', 'call.deferred']);
    expect(typesOf(attemptRow('job-2', data, 1, 2, { status: 'blocked', reason: 'dnc' }))).toEqual(['call.scheduled', 'call.blocked']);
    const retried = callEventsOf(attemptRow('job-3', data, 1, 2, { status: 'dial-failed', dialedAt: NOW, errorCode: '20429', errorMessage: 'Too many requests' }), NOW);
    expect(retried.map(({ event }) => [event.type, 'willRetry' in event.data ? event.data.willRetry : undefined])).toEqual([
      ['call.scheduled', undefined],
      ['call.dialing', undefined],
      ['call.failed', true],
    ]);
    const final = callEventsOf(attemptRow('job-3', data, 2, 4, { status: 'error', dialedAt: NOW, errorCode: '21211', errorMessage: 'Invalid To' }), NOW).at(-1)!.event;
    expect(final).toMatchObject({ type: 'call.failed', data: { willRetry: false, errorCode: '21211', attempt: 2 } });
    expect(final.id).not.toBe(retried.at(-1)!.event.id);
    // Two deferrals of one attempt are two events.
    const again = (version: number) => callEventsOf(attemptRow('job-2', data, 1, version, { status: 'deferred', reason: 'frequency-cap', until: NOW }), NOW).at(-1)!.event.id;
    expect(again(3)).not.toBe(again(4));
  });

  it('give a campaign call its campaign, and a recorded Twilio call its recordings', () => {
    const campaignCall = { ...data, campaignId: 'cmp1', contactId: 'c-1', record: true } as CallJobData;
    const row = callRow('cmp-cmp1-x', campaignCall, 4, record([['busy', NOW]]), (sid) => `https://api.twilio.com/2010-04-01/Accounts/AC1/Calls/${sid}/Recordings.json`);
    const [ended] = callEventsOf(row, NOW).slice(-1);
    expect(ended).toMatchObject({ campaignId: 'cmp1', event: { type: 'call.completed', data: { campaignId: 'cmp1', contactId: 'c-1', outcome: 'busy', recordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Calls/CA1/Recordings.json' } } });
    expect(callEventsOf(callRow('j', data, 4, record([['busy', NOW]]), () => 'x'), NOW).at(-1)!.event).toMatchObject({ data: { recordingUrl: null } });
  });
});

describe('campaign events', () => {
  it.each([
    ['draft', 'running', 'campaign.started'],
    ['running', 'paused', 'campaign.paused'],
    ['paused', 'running', 'campaign.resumed'],
    ['completed', 'running', 'campaign.resumed'],
    ['running', 'completed', 'campaign.completed'],
    ['paused', 'cancelled', 'campaign.cancelled'],
    ['draft', 'cancelled', 'campaign.cancelled'],
  ] as const)('%s to %s is %s', (from, to, type) => {
    expect(campaignEvent({ id: 'c1', name: 'Renewals', metadata: {} }, from, to)).toMatchObject({ lane: 'campaign:c1', campaignId: 'c1', event: { type, data: { campaignId: 'c1', name: 'Renewals', state: to } } });
  });
});

describe('signatures', () => {
  const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
  const previous = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;
  const event: WebhookEvent = { id: 'evt_1', type: 'dnc.added', timestamp: NOW, data: { entries: [] } };
  const body = JSON.stringify(event);

  it('verify with the Standard Webhooks library under either secret during a rotation, and not once the body changes', () => {
    const headers = signedHeaders(event, body, [secret, previous], new Date());
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(secret).verify(body, headers)).toEqual(event);
    expect(new Webhook(previous).verify(body, headers)).toEqual(event);
    expect(() => new Webhook(secret).verify(body.replace('dnc', 'dnd'), headers)).toThrow();
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 3).toString('base64')}`).verify(body, headers)).toThrow();
  });

  it('are refused by receivers once older than five minutes', () => {
    const headers = signedHeaders(event, body, [secret], new Date(Date.now() - 6 * 60_000));
    expect(() => new Webhook(secret).verify(body, headers)).toThrow(/timestamp/i);
  });
});

describe('retries', () => {
  it('wait from the base, doubling, between half and all of each step, never past the cap', () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect([1, 2, 3, 4].map((attempt) => retryDelay(attempt, 1_000, 60_000, low))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map((attempt) => retryDelay(attempt, 1_000, 60_000, high))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelay(30, 1_000, 60_000, high)).toBe(60_000);
    expect(retryDelay(5_000, 1_000, 60_000, low)).toBe(30_000);
  });

  it('honour Retry-After in seconds or as a date', () => {
    const now = Date.parse(NOW);
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
  });
});

describe('destinations', () => {
  it.each([
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['10.0.0.1', false],
    ['172.31.255.255', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['fe80::1', false],
    ['fd12:3456::1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['224.0.0.1', false],
    ['not an address', false],
  ])('%s is public: %s', (address, expected) => expect(isPublicAddress(address)).toBe(expected));

  it('refuses private ones unless allowed, and any URL that is not http(s) or carries credentials', async () => {
    await expect(checkDestination('http://127.0.0.1:4000/hook', false)).rejects.toThrow(/loopback|private/);
    await expect(checkDestination('http://localhost:4000/hook', false)).rejects.toThrow(/private, loopback or link-local/);
    await expect(checkDestination('http://127.0.0.1:4000/hook', true)).resolves.toBeUndefined();
    await expect(checkDestination('https://8.8.8.8/hook', false)).resolves.toBeUndefined();
    await expect(checkDestination('file:///etc/passwd', true)).rejects.toThrow(/http/);
    await expect(checkDestination('https://a:b@crm.example.com/', true)).rejects.toThrow(/user or password/);
    await expect(checkDestination('https://no-such-host.invalid/', false)).rejects.toThrow(/does not resolve/);
  });
});
