import { describe, expect } from 'vitest';
import { until } from './helpers/callbacks.js';
import { eventSchemaCheck } from './helpers/event-schemas.js';
import { it } from './helpers/fixtures.js';
import { aCall, type Service } from './helpers/harness.js';
import { startWebhookReceiver, subscribeReceiver, type ReceivedEvent, type WebhookReceiver } from './helpers/webhook-receiver.js';

/** Calls that end within a second, each outcome once: answered, busy, no-answer, failed, invalid number. */
const FAST = { SIMULATED_TIME_SCALE: '0.01', REDIAL_ON: 'none', EVENTS_RETRY_BASE_MS: '100', EVENTS_RETRY_MAX_MS: '1000' };

const subscribe = (service: Service, receiver: WebhookReceiver, body: Record<string, unknown> = {}) => subscribeReceiver(service.app, receiver, body);

async function scheduleBatch(service: Service, numbers: string[]) {
  const response = await service.app.inject({
    method: 'POST',
    url: '/api/queue/schedule-bulk-calls',
    payload: { calls: numbers.map((to, index) => aCall({ to, lead_id: `lead-${index}`, metadata: { crmId: `crm-${index}` } })) },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().jobIds as string[];
}

const byJob = (events: ReceivedEvent[]) => {
  const grouped = new Map<string, ReceivedEvent[]>();
  for (const event of events) {
    const jobId = event.data.jobId as string | undefined;
    if (jobId) grouped.set(jobId, [...(grouped.get(jobId) ?? []), event]);
  }
  return grouped;
};

const isEnd = (event: ReceivedEvent) => event.type === 'call.completed' || (event.type === 'call.failed' && event.data.willRetry === false);
const endedJobs = (receiver: WebhookReceiver) => new Set(receiver.events.filter(isEnd).map((event) => event.data.jobId));

/** The order a call's life goes through; a later stage never comes before an earlier one. */
const STAGE: Record<string, number> = { 'call.scheduled': 0, 'call.dialing': 1, 'call.ringing': 2, 'call.answered': 3, 'call.completed': 4, 'call.failed': 4 };

const NUMBERS = ['+14155550101', '+14155559001', '+14155559002', '+14155559003', '+14155559004', '+14155550102', '+14155550103', '+14155550104'];

describe('events to a CRM receiver', () => {
  it('brings every event of a batch of calls to a verifying receiver, in order per call, each id once, each matching its schema, through failures the receiver answers', async ({ startService }) => {
    const service = await startService(FAST);
    // The receiver refuses the first try of every third event with a 503: later events of the same call must wait for it.
    let requestsSeen = 0;
    const receiver = await startWebhookReceiver({ answer: (_event, nth) => (nth === 1 && ++requestsSeen % 3 === 0 ? { status: 503, headers: { 'retry-after': '0' } } : 204) });
    await subscribe(service, receiver);
    await service.startEventWorker();
    await service.startWorker();

    const jobIds = await scheduleBatch(service, [...NUMBERS, ...NUMBERS.map((to) => to.replace('+1415', '+1628'))]);
    await receiver.waitFor(() => endedJobs(receiver).size === jobIds.length, 30_000, 'the end of every call');

    expect(receiver.badSignatures).toBe(0);
    expect(receiver.requests.some((request) => request.status === 503)).toBe(true);
    const ids = receiver.events.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);

    const check = eventSchemaCheck();
    for (const event of receiver.events) expect(check(event), `${event.type} ${JSON.stringify(event)}`).toBeUndefined();

    const calls = byJob(receiver.events);
    expect([...calls.keys()].sort()).toEqual([...jobIds].sort());
    for (const [jobId, events] of calls) {
      const stages = events.map((event) => STAGE[event.type]);
      expect(stages, `${jobId}: ${events.map((event) => event.type).join(' ')}`).toEqual([...stages].sort((a, b) => a! - b!));
      expect(events[0]!.type).toBe('call.scheduled');
      expect(events.filter(isEnd)).toHaveLength(1);
      const index = jobIds.indexOf(jobId);
      expect(events.every((event) => event.data.leadId === `lead-${index}` && (event.data.metadata as { crmId: string }).crmId === `crm-${index}`)).toBe(true);
    }

    const outcomes = Object.fromEntries([...calls].map(([jobId, events]) => [jobId, events.find(isEnd)!]));
    const answered = outcomes[jobIds[0]!]!;
    expect(answered).toMatchObject({ type: 'call.completed', data: { outcome: 'completed', to: NUMBERS[0] } });
    expect(answered.data.callSid).toMatch(/^CA/);
    expect(calls.get(jobIds[0]!)!.map((event) => event.type)).toEqual(['call.scheduled', 'call.dialing', 'call.ringing', 'call.answered', 'call.completed']);
    expect(outcomes[jobIds[1]!]).toMatchObject({ type: 'call.completed', data: { outcome: 'busy' } });
    expect(outcomes[jobIds[2]!]).toMatchObject({ type: 'call.completed', data: { outcome: 'no-answer' } });
    expect(outcomes[jobIds[4]!]).toMatchObject({ type: 'call.failed', data: { willRetry: false, errorCode: '21211' } });
  });

  it('delivers what happened while the receiver was down once it returns, by the retry schedule', async ({ startService }) => {
    const service = await startService(FAST);
    const receiver = await startWebhookReceiver();
    const { id } = await subscribe(service, receiver);
    await service.startEventWorker();
    await service.startWorker();

    await receiver.stop();
    const jobIds = await scheduleBatch(service, NUMBERS.slice(0, 4));
    // Every call ends while nobody listens, and the first event of each is tried again and again, waiting longer each time.
    type Attempt = { eventId: string; attempt: number; at: string; error: string; nextAttemptAt: string };
    const attempts = await until(
      async () => (await service.app.inject({ method: 'GET', url: `/api/webhooks/${id}/deliveries?result=retrying&limit=1000` })).json().deliveries as Attempt[],
      (seen) => jobIds.every((_, index) => seen.filter((attempt) => attempt.attempt >= 4).length > index),
      20_000,
    );
    await until(async () => service.queue.getCompletedCount(), (count) => count === jobIds.length, 20_000);
    const waits = new Map(attempts.map((attempt) => [`${attempt.eventId}#${attempt.attempt}`, Date.parse(attempt.nextAttemptAt) - Date.parse(attempt.at)]));
    const retried = attempts.find((attempt) => attempt.attempt === 4)!.eventId;
    // From EVENTS_RETRY_BASE_MS (100 ms: the first wait 50-100 ms), doubling: the third is 200-400 ms.
    expect(waits.get(`${retried}#1`)).toBeLessThanOrEqual(100);
    expect(waits.get(`${retried}#3`)).toBeGreaterThanOrEqual(200);
    expect(attempts.every((attempt) => /ECONNREFUSED/.test(attempt.error))).toBe(true);
    const whileDown = (await service.app.inject({ method: 'GET', url: `/api/webhooks/${id}` })).json().webhook;
    expect(whileDown).toMatchObject({ enabled: true, lastError: expect.stringMatching(/ECONNREFUSED/) });
    expect(whileDown.failingSince).not.toBeNull();

    await receiver.restart();
    await receiver.waitFor(() => endedJobs(receiver).size === jobIds.length, 30_000, 'every call’s end after the receiver returned');
    const calls = byJob(receiver.events);
    for (const jobId of jobIds) expect(calls.get(jobId)!.map((event) => event.type)[0]).toBe('call.scheduled');
    const ids = receiver.events.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Delivered after failures: the subscription is no longer failing.
    await until(async () => (await service.app.inject({ method: 'GET', url: `/api/webhooks/${id}` })).json().webhook.failingSince, (since) => since === null);
  });

  it('waits as long as a 429 or 503 asks (Retry-After) before trying again', async ({ startService }) => {
    const service = await startService(FAST);
    const receiver = await startWebhookReceiver({ answer: (_event, nth) => (nth === 1 ? { status: 429, headers: { 'retry-after': '2' } } : 204) });
    const { id } = await subscribe(service, receiver, { eventTypes: ['call.scheduled'] });
    await service.startEventWorker();
    await scheduleBatch(service, NUMBERS.slice(0, 1));
    await receiver.waitFor(() => receiver.events.length === 1, 10_000);
    const [first, second] = receiver.requests;
    expect([first!.status, second!.status]).toEqual([429, 204]);
    // EVENTS_RETRY_BASE_MS is 100 ms here: only the receiver's Retry-After explains two seconds.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_900);
    const [delivered, asked] = (await service.app.inject({ method: 'GET', url: `/api/webhooks/${id}/deliveries` })).json().deliveries;
    expect(asked).toMatchObject({ result: 'retrying', statusCode: 429, attempt: 1 });
    expect(Date.parse(asked.nextAttemptAt) - Date.parse(asked.at)).toBeGreaterThanOrEqual(2_000);
    expect(delivered).toMatchObject({ result: 'delivered', statusCode: 204, attempt: 2 });
  });

  it('does not hammer a receiver that answers 410 (disabled, saying why) or 400 (each event tried once), and disables one failing too long', async ({ startService }) => {
    const service = await startService({ ...FAST, EVENTS_DISABLE_AFTER_MS: '1500' });
    const gone = await startWebhookReceiver({ answer: () => 410 });
    const refusing = await startWebhookReceiver({ answer: () => 400 });
    const fine = await startWebhookReceiver();
    const goneSubscription = await subscribe(service, gone);
    const refusingSubscription = await subscribe(service, refusing);
    await subscribe(service, fine);
    await service.startEventWorker();
    await service.startWorker();

    await scheduleBatch(service, NUMBERS.slice(0, 3));
    await fine.waitFor(() => endedJobs(fine).size === 3);
    await refusing.waitFor(() => refusing.requests.length > 0);

    const goneView = (await service.app.inject({ method: 'GET', url: `/api/webhooks/${goneSubscription.id}` })).json().webhook;
    expect(goneView).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });
    // At most the first event of each call, sent at once before the first 410 came back; of the fifteen or so events, nothing more.
    const goneRequests = gone.requests.length;
    expect(goneRequests).toBeLessThanOrEqual(3);

    const refused = refusing.requests.map((request) => request.id);
    expect(new Set(refused).size).toBe(refused.length);
    const failures = (await service.app.inject({ method: 'GET', url: `/api/webhooks/${refusingSubscription.id}/deliveries?limit=1000` })).json().deliveries;
    expect(failures.every((attempt: { result: string; statusCode: number }) => attempt.result === 'failed' && attempt.statusCode === 400)).toBe(true);

    // It kept failing past EVENTS_DISABLE_AFTER_MS: the next failure disables it.
    await until(async () => (await service.app.inject({ method: 'GET', url: `/api/webhooks/${refusingSubscription.id}` })).json().webhook, (view) => view.failingSince !== null);
    await new Promise((resolve) => setTimeout(resolve, 1_600)); // the configured time must pass; nothing reports it
    await scheduleBatch(service, NUMBERS.slice(5, 6));
    const disabled = await until(async () => (await service.app.inject({ method: 'GET', url: `/api/webhooks/${refusingSubscription.id}` })).json().webhook, (view) => view.enabled === false);
    expect(disabled.disabledReason).toMatch(/every delivery failed since .*HTTP 400/);
    const before = refusing.requests.length;
    await scheduleBatch(service, NUMBERS.slice(6, 7));
    await fine.waitFor(() => endedJobs(fine).size === 5);
    expect(refusing.requests.length).toBe(before);
    expect(gone.requests).toHaveLength(goneRequests);
  });
});
