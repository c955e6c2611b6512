import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { createSubscriptionStore } from '../src/events/subscription-store.js';
import { until } from './helpers/callbacks.js';
import { addContacts, campaignAction, createCampaign } from './helpers/campaigns.js';
import { it } from './helpers/fixtures.js';
import { aCall, type Service } from './helpers/harness.js';
import { startWebhookReceiver, subscribeReceiver, type ReceivedEvent, type WebhookReceiver } from './helpers/webhook-receiver.js';

const FAST = { SIMULATED_TIME_SCALE: '0.01', REDIAL_ON: 'none', EVENTS_RETRY_BASE_MS: '100', EVENTS_RETRY_MAX_MS: '1000' };
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

const subscribe = (service: Service, receiver: WebhookReceiver, body: Record<string, unknown> = {}) => subscribeReceiver(service.app, receiver, body);

async function schedule(service: Service, to: string, extra: Record<string, unknown> = {}) {
  const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ to, ...extra }) });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().jobId as string;
}

const completedFor = (receiver: WebhookReceiver, jobId: string) => receiver.events.some((event) => event.type === 'call.completed' && event.data.jobId === jobId);
const types = (events: ReceivedEvent[]) => events.map((event) => event.type);

describe('subscriptions', () => {
  it('are created with a secret shown once, listed without it, filtered by type and campaign, changed, rotated and removed', async ({ startService }) => {
    const service = await startService(FAST);
    const all = await startWebhookReceiver();
    const endsOnly = await startWebhookReceiver();
    const oneCampaign = await startWebhookReceiver();
    const rotated = await startWebhookReceiver();
    const { secret: allSecret } = await subscribe(service, all, { description: 'everything' });
    const endsOnlySubscription = await subscribe(service, endsOnly, { eventTypes: ['call.completed', 'call.failed'] });
    const campaignId = await createCampaign(service.app, { message: 'Hello' });
    await subscribe(service, oneCampaign, { campaignId });
    const rotating = await subscribe(service, rotated);
    expect(allSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const listed = await service.app.inject({ method: 'GET', url: '/api/webhooks' });
    expect(listed.json().webhooks).toHaveLength(4);
    expect(listed.body).not.toContain(allSecret.slice(6));
    expect(listed.body).not.toContain('secret"');
    expect((await service.app.inject({ method: 'GET', url: `/api/webhooks/${endsOnlySubscription.id}` })).json().webhook).toMatchObject({
      eventTypes: ['call.completed', 'call.failed'],
      enabled: true,
      source: 'api',
    });

    await service.startEventWorker();
    await service.startWorker();
    const single = await schedule(service, '+14155550101');
    await addContacts(service.app, campaignId, [{ to: '+14155550102' }]);
    await campaignAction(service.app, campaignId, 'start');
    await all.waitFor(() => completedFor(all, single) && all.events.some((event) => event.type === 'campaign.completed'));
    await oneCampaign.waitFor(() => oneCampaign.events.some((event) => event.type === 'campaign.completed'));
    await endsOnly.waitFor(() => endsOnly.events.length === 2);

    expect(new Set(types(endsOnly.events))).toEqual(new Set(['call.completed']));
    expect(oneCampaign.events.every((event) => event.data.campaignId === campaignId)).toBe(true);
    expect(types(oneCampaign.events)).toEqual(['campaign.started', 'call.scheduled', 'call.dialing', 'call.ringing', 'call.answered', 'call.completed', 'campaign.completed']);
    expect(all.events.filter((event) => event.data.jobId === single).map((event) => event.type)).toEqual(['call.scheduled', 'call.dialing', 'call.ringing', 'call.answered', 'call.completed']);

    // A rotation: the new secret is shown once; for a day both sign, so a receiver that still trusts the old one goes on verifying.
    const rotation = await service.app.inject({ method: 'POST', url: `/api/webhooks/${rotating.id}/rotate-secret` });
    expect(rotation.statusCode).toBe(200);
    const newSecret = rotation.json().secret as string;
    expect(newSecret).not.toBe(rotating.secret);
    expect(rotation.json().webhook.previousSecretUntil).not.toBeNull();
    rotated.trust(rotating.secret);
    const afterRotation = await schedule(service, '+14155550103');
    await rotated.waitFor(() => completedFor(rotated, afterRotation));
    rotated.trust(newSecret);
    const withNewSecret = await schedule(service, '+14155550104');
    await rotated.waitFor(() => completedFor(rotated, withNewSecret));
    expect(rotated.badSignatures).toBe(0);

    // Changed: only failures from now on.
    const patched = await service.app.inject({ method: 'PATCH', url: `/api/webhooks/${endsOnlySubscription.id}`, payload: { eventTypes: ['call.failed'], description: 'failures' } });
    expect(patched.json().webhook).toMatchObject({ eventTypes: ['call.failed'], description: 'failures' });
    const failing = await schedule(service, '+14155559004');
    await all.waitFor(() => all.events.some((event) => event.type === 'call.failed' && event.data.jobId === failing));
    await endsOnly.waitFor(() => endsOnly.events.some((event) => event.data.jobId === failing));
    expect(endsOnly.events.filter((event) => event.data.jobId === failing || event.data.jobId === afterRotation || event.data.jobId === withNewSecret).map((event) => event.type)).toEqual(['call.completed', 'call.completed', 'call.failed']);

    // Removed: gone from the API and from Redis, and sent nothing more.
    expect((await service.app.inject({ method: 'DELETE', url: `/api/webhooks/${endsOnlySubscription.id}` })).statusCode).toBe(200);
    expect((await service.app.inject({ method: 'GET', url: `/api/webhooks/${endsOnlySubscription.id}` })).json()).toMatchObject({ success: false, error: 'WEBHOOK_NOT_FOUND' });
    expect(await service.redisKeys(`webhook-${endsOnlySubscription.id}:*`)).toEqual([]);
    const received = endsOnly.requests.length;
    const last = await schedule(service, '+14155559004');
    await all.waitFor(() => all.events.some((event) => event.type === 'call.failed' && event.data.jobId === last));
    expect(endsOnly.requests).toHaveLength(received);
  });

  it('refuses bad subscriptions with a 400 naming the field, and unknown ones with a 404', async ({ startService }) => {
    const service = await startService();
    for (const [payload, field] of [
      [{ url: 'ftp://crm.example.com/hook' }, 'url'],
      [{ url: 'https://user:pass@crm.example.com/hook' }, 'url'],
      [{ url: 'not a url' }, 'url'],
      [{ url: 'https://crm.example.com/hook', eventTypes: ['call.exploded'] }, 'eventTypes[0]'],
      [{ url: 'https://crm.example.com/hook', eventTypes: [] }, 'eventTypes'],
      [{ url: 'https://crm.example.com/hook', secret: 'whsec_mine' }, '(body)'],
    ] as const) {
      const response = await service.app.inject({ method: 'POST', url: '/api/webhooks', payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().details.map((detail: { field: string }) => detail.field)).toContain(field);
    }
    expect((await service.app.inject({ method: 'GET', url: '/api/webhooks' })).json().webhooks).toEqual([]);
    for (const [method, url] of [
      ['GET', '/api/webhooks/whk_nope'],
      ['PATCH', '/api/webhooks/whk_nope'],
      ['DELETE', '/api/webhooks/whk_nope'],
      ['POST', '/api/webhooks/whk_nope/rotate-secret'],
      ['GET', '/api/webhooks/whk_nope/deliveries'],
      ['POST', '/api/webhooks/whk_nope/replay'],
    ] as const) {
      const body = method === 'PATCH' ? { enabled: true } : method === 'POST' && url.endsWith('replay') ? { eventIds: ['evt_x'] } : undefined;
      const response = await service.app.inject({ method, url, ...(body && { payload: body }) });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
  });

  it('EVENTS_WEBHOOK_URL is a subscription to every event that only its variables change', async ({ startService }) => {
    const receiver = await startWebhookReceiver();
    receiver.trust(SECRET);
    const service = await startService({ ...FAST, EVENTS_WEBHOOK_URL: receiver.url, EVENTS_WEBHOOK_SECRET: SECRET });
    const listed = (await service.app.inject({ method: 'GET', url: '/api/webhooks' })).json().webhooks;
    expect(listed).toEqual([expect.objectContaining({ id: 'env', url: receiver.url, source: 'env', eventTypes: null, enabled: true })]);
    for (const [method, url, payload] of [
      ['DELETE', '/api/webhooks/env', undefined],
      ['PATCH', '/api/webhooks/env', { url: 'https://elsewhere.example.com/' }],
      ['POST', '/api/webhooks/env/rotate-secret', undefined],
    ] as const) {
      const response = await service.app.inject({ method, url, ...(payload && { payload }) });
      expect(response.statusCode, `${method} ${url}`).toBe(409);
      expect(response.json().error).toBe('WEBHOOK_MANAGED_BY_ENV');
    }
    await service.startEventWorker();
    await service.startWorker();
    const jobId = await schedule(service, '+14155550101');
    await receiver.waitFor(() => completedFor(receiver, jobId));
    expect(types(receiver.events)).toEqual(['call.scheduled', 'call.dialing', 'call.ringing', 'call.answered', 'call.completed']);
  });
});

describe('outbound requests are safe', () => {
  it('refuses loopback, private and link-local destinations in production, at subscribe time and at connect time', async ({ startService }) => {
    const service = await startService({ ...FAST, NODE_ENV: 'production' });
    const receiver = await startWebhookReceiver();
    for (const url of [
      receiver.url,
      `http://localhost:${receiver.port}/hook`,
      'http://10.1.2.3/hook',
      'http://192.168.0.10/hook',
      'http://172.16.5.4/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[fd00::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://0.0.0.0/hook',
    ]) {
      const response = await service.app.inject({ method: 'POST', url: '/api/webhooks', payload: { url } });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().error, url).toBe('WEBHOOK_URL_REFUSED');
    }
    expect((await service.app.inject({ method: 'GET', url: '/api/webhooks' })).json().webhooks).toEqual([]);

    // A name that resolves inside the network after it was accepted (here put straight into the store) is refused when connecting.
    const redis = new Redis(service.config.redisUrl);
    const store = createSubscriptionStore(redis, service.config.QUEUE_PREFIX);
    const sneaked = await store.create({ url: `http://localhost:${receiver.port}/hook`, eventTypes: null, campaignId: null, description: null });
    redis.disconnect();
    receiver.trust(sneaked.secret);
    await service.startEventWorker();
    await service.startWorker();
    await schedule(service, '+14155550101');
    const refused = await until(
      async () => (await service.app.inject({ method: 'GET', url: `/api/webhooks/${sneaked.id}/deliveries` })).json().deliveries as Array<{ result: string; error: string; statusCode: number | null }>,
      (attempts) => attempts.length >= 1,
    );
    expect(refused[0]).toMatchObject({ result: 'failed', statusCode: null, error: expect.stringContaining('private, loopback or link-local') });
    expect(receiver.requests).toEqual([]);
  });

  it('follows no redirect and gives up on a receiver that does not answer in time', async ({ startService }) => {
    const service = await startService({ ...FAST, EVENTS_DELIVERY_TIMEOUT_MS: '300' });
    const elsewhere = await startWebhookReceiver();
    const redirecting = await startWebhookReceiver({ answer: () => ({ status: 307, headers: { location: elsewhere.url } }) });
    const silent = await startWebhookReceiver({ answer: () => ({ status: 204, delayMs: 2_000 }) });
    const redirect = await subscribe(service, redirecting, { eventTypes: ['call.scheduled'] });
    elsewhere.trust(redirect.secret);
    const slow = await subscribe(service, silent, { eventTypes: ['call.scheduled'] });
    await service.startEventWorker();
    await schedule(service, '+14155550101');

    const deliveries = (id: string) => async () => (await service.app.inject({ method: 'GET', url: `/api/webhooks/${id}/deliveries` })).json().deliveries as Array<{ result: string; error: string; statusCode: number | null; latencyMs: number }>;
    const redirected = await until(deliveries(redirect.id), (attempts) => attempts.length >= 1);
    expect(redirected[0]).toMatchObject({ result: 'failed', statusCode: 307 });
    expect(elsewhere.requests).toEqual([]);
    const timedOut = await until(deliveries(slow.id), (attempts) => attempts.length >= 1);
    expect(timedOut[0]).toMatchObject({ result: 'retrying', statusCode: null, error: 'no answer within 300 ms' });
    expect(timedOut[0]!.latencyMs).toBeLessThan(2_000);
  });
});

describe('deliveries and replay', () => {
  it('show every attempt, and send kept events again by id or by time, in their order, under the same ids', async ({ startService }) => {
    const service = await startService(FAST);
    const receiver = await startWebhookReceiver({ answer: (_event, nth) => (nth === 1 ? 200 : 202) });
    const { id } = await subscribe(service, receiver);
    await service.startEventWorker();
    await service.startWorker();
    const first = await schedule(service, '+14155550101');
    await receiver.waitFor(() => completedFor(receiver, first));
    const startedAt = new Date().toISOString();
    const second = await schedule(service, '+14155559001');
    await receiver.waitFor(() => completedFor(receiver, second));
    const secondEvents = receiver.events.filter((event) => event.data.jobId === second);

    const attempts = (await service.app.inject({ method: 'GET', url: `/api/webhooks/${id}/deliveries?limit=1000` })).json().deliveries;
    expect(attempts).toHaveLength(receiver.events.length);
    expect(attempts.every((attempt: { result: string; statusCode: number; latencyMs: number }) => attempt.result === 'delivered' && attempt.statusCode === 200 && attempt.latencyMs >= 0)).toBe(true);
    const completedId = receiver.events.find((event) => event.type === 'call.completed' && event.data.jobId === first)!.id;
    expect((await service.app.inject({ method: 'GET', url: `/api/webhooks/${id}/deliveries?eventId=${completedId}` })).json().deliveries).toHaveLength(1);

    // By id: that event again, answered 202 this time.
    const byId = await service.app.inject({ method: 'POST', url: `/api/webhooks/${id}/replay`, payload: { eventIds: [completedId] } });
    expect(byId.statusCode).toBe(202);
    expect(byId.json()).toMatchObject({ replayed: 1, truncated: false, enabled: true });
    await receiver.waitFor(() => receiver.requests.filter((request) => request.id === completedId).length === 2);

    // By time: everything of the second call, in its order.
    const before = receiver.requests.length;
    const byTime = await service.app.inject({ method: 'POST', url: `/api/webhooks/${id}/replay`, payload: { from: startedAt } });
    expect(byTime.json().replayed).toBe(secondEvents.length);
    await receiver.waitFor(() => receiver.requests.length === before + secondEvents.length);
    expect(receiver.requests.slice(before).map((request) => request.id)).toEqual(secondEvents.map((event) => event.id));
    expect(receiver.requests.slice(before).every((request) => request.status === 202)).toBe(true);

    const refused = await service.app.inject({ method: 'POST', url: `/api/webhooks/${id}/replay`, payload: { eventIds: [completedId], from: startedAt } });
    expect(refused.statusCode).toBe(400);
  });
});

describe('isolation', () => {
  it('a slow receiver delays neither dialing nor another subscription', async ({ startService }) => {
    const service = await startService({ ...FAST, EVENTS_DELIVERY_CONCURRENCY: '2' });
    const slow = await startWebhookReceiver({ answer: () => ({ status: 204, delayMs: 1_000 }) });
    const fast = await startWebhookReceiver();
    await subscribe(service, slow);
    await subscribe(service, fast);
    await service.startEventWorker();
    await service.startWorker();
    const jobIds = await Promise.all(Array.from({ length: 10 }, (_, index) => schedule(service, `+1415555${(1000 + index).toString()}`)));

    await until(async () => service.queue.getCompletedCount(), (count) => count === jobIds.length, 20_000);
    await fast.waitFor(() => jobIds.every((jobId) => completedFor(fast, jobId)));
    // Fifty events wait on a receiver taking a second each, two at a time: it has had a handful.
    expect(slow.requests.length).toBeLessThan(fast.events.length / 2);
    expect(jobIds.some((jobId) => completedFor(slow, jobId))).toBe(false);
  });
});

describe('more than calls', () => {
  it('announces do-not-call additions, a campaign’s pause and resume, and a waiting caller’s callback request', async ({ startService }) => {
    const service = await startService({ ...FAST, MAX_CONCURRENT_CALLS: '1', CALLBACK_THRESHOLD_SECONDS: '1' });
    const receiver = await startWebhookReceiver();
    await subscribe(service, receiver, { eventTypes: ['dnc.added', 'campaign.started', 'campaign.paused', 'campaign.resumed', 'campaign.cancelled', 'callback.requested', 'call.scheduled', 'call.cancelled'] });
    await service.startEventWorker();
    await service.startWorker();

    await service.app.inject({ method: 'PUT', url: '/api/dnc/+14155550177', payload: { reason: 'asked' } });
    await service.app.inject({ method: 'PUT', url: '/api/dnc/+14155550177', payload: { reason: 'asked again' } });
    const imported = await service.app.inject({ method: 'POST', url: '/api/dnc/import', payload: 'number,reason\n+14155550178,a\n+1628*,area\n', headers: { 'content-type': 'text/csv' } });
    expect(imported.statusCode).toBe(200);
    const campaignId = await createCampaign(service.app, { message: 'Hello', startAt: new Date(Date.now() + 3_600_000).toISOString() });
    // Contacts that never become calls (the campaign is cancelled before it starts dialing) make no call events.
    await addContacts(service.app, campaignId, [{ to: '+14155550111' }, { to: '+14155550112' }]);
    for (const action of ['start', 'pause', 'resume', 'cancel'] as const) expect((await campaignAction(service.app, campaignId, action)).statusCode).toBe(200);

    const holder = await service.app.inject({ method: 'POST', url: '/simulator/inbound-calls', payload: { from: '+14155550190', talkSeconds: 600 } });
    expect(holder.statusCode).toBe(201);
    await until(async () => (await service.app.inject({ method: 'GET', url: '/api/capacity' })).json().capacity.inUse, (inUse) => inUse === 1);
    const waiting = await service.app.inject({ method: 'POST', url: '/simulator/inbound-calls', payload: { from: '+14155550191', talkSeconds: 60, acceptsCallback: true } });
    const waitingSid = waiting.json().call.callSid as string;

    await receiver.waitFor(() => receiver.events.some((event) => event.type === 'callback.requested'), 20_000);
    await receiver.waitFor(() => receiver.events.filter((event) => event.type.startsWith('campaign.')).length === 4);
    const dnc = receiver.events.filter((event) => event.type === 'dnc.added');
    expect(dnc.map((event) => event.data.entries)).toEqual([
      [{ number: '+14155550177', reason: 'asked', source: 'api', expiresAt: null }],
      [
        { number: '+14155550178', reason: 'a', source: 'import', expiresAt: null },
        { number: '+1628*', reason: 'area', source: 'import', expiresAt: null },
      ],
    ]);
    expect(receiver.events.filter((event) => event.type.startsWith('campaign.')).map((event) => [event.type, event.data.campaignId, event.data.state])).toEqual([
      ['campaign.started', campaignId, 'running'],
      ['campaign.paused', campaignId, 'paused'],
      ['campaign.resumed', campaignId, 'running'],
      ['campaign.cancelled', campaignId, 'cancelled'],
    ]);
    expect(receiver.events.find((event) => event.type === 'callback.requested')!.data).toEqual({ callSid: waitingSid, from: '+14155550191', priority: 'normal', position: 1 });
    const progress = (await service.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}` })).json().campaign.progress;
    expect(progress).toMatchObject({ contacts: 2, cancelled: 2 });
    expect(receiver.events.filter((event) => event.type.startsWith('call.') && event.data.campaignId === campaignId)).toEqual([]);
  });
});
