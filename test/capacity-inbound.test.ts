import { randomBytes } from 'node:crypto';
import { describe, expect } from 'vitest';
import { sendTwilioWebhook, until } from './helpers/callbacks.js';
import { freePort } from './helpers/free-port.js';
import { it, test, type StartService } from './helpers/fixtures.js';
import { aCall, nextJobs, startService, type Service } from './helpers/harness.js';
import type { TwilioStandIn } from './helpers/twilio-stand-in.js';

let twilio: TwilioStandIn;
let startTwilioService: StartService;
let service: Service;
const QUEUE = `QU${'a'.repeat(32)}`;
const sid = () => `CA${randomBytes(16).toString('hex')}`;

async function start(env: Record<string, string> = {}) {
  service = await startTwilioService({
    PUBLIC_URL: 'https://switchboard.example.com',
    MAX_CONCURRENT_CALLS: '1',
    AGENT_DIAL_TARGET: 'sip:agent@voice.example.com',
    // Outbound calls reach the agent, so they compete with inbound callers for its slots.
    CALL_CONNECT_MODE: 'agent',
    HOLD_MUSIC_URL: 'https://music.example.com/hold.mp3',
    CALLBACK_THRESHOLD_SECONDS: '300',
    VIP_NUMBERS: '+14155550199',
    REDIAL_ON: 'none',
    ...env,
  });
}
test.beforeEach(({ twilio: standIn, startTwilioService: startWithStandIn }) => {
  twilio = standIn;
  startTwilioService = startWithStandIn;
});

/** Plays Twilio's part for one inbound caller. */
function caller(from: string) {
  const callSid = sid();
  return {
    callSid,
    from,
    arrive: async () => (await sendTwilioWebhook(service, '/webhooks/twilio/voice', { CallSid: callSid, From: from, To: '+14155550100', Direction: 'inbound' })).body,
    /** <Enqueue> put them in the Twilio queue, which now asks the wait URL what to play. */
    hold: async () => {
      twilio.enqueue(QUEUE, callSid);
      return (await sendTwilioWebhook(service, '/webhooks/twilio/wait', { CallSid: callSid, QueueSid: QUEUE, QueuePosition: '1' })).body;
    },
    press: async (digits: string) => (await sendTwilioWebhook(service, '/webhooks/twilio/callback', { CallSid: callSid, Digits: digits })).body,
    hangUpWhileWaiting: async () => {
      twilio.leaveQueue(QUEUE, callSid);
      return (await sendTwilioWebhook(service, '/webhooks/twilio/queue-exit', { CallSid: callSid, QueueResult: 'hangup', QueueSid: QUEUE })).body;
    },
    endAgentCall: async (seconds: number) =>
      (await sendTwilioWebhook(service, '/webhooks/twilio/dial-ended', { CallSid: callSid, DialCallStatus: 'completed', DialCallDuration: String(seconds) })).body,
  };
}

const connects = (twiml: string) => twiml.includes('<Dial action="/webhooks/twilio/dial-ended" method="POST"><Sip>sip:agent@voice.example.com</Sip></Dial>');
const redirected = () => twilio.redirects.map((redirect) => redirect.callSid);
const capacity = async () => (await service.app.inject({ method: 'GET', url: '/api/capacity' })).json();

describe('inbound calls and the line', () => {
  it('connects a caller when a slot is free and puts the next in the Twilio queue', async () => {
    await start();
    const first = caller('+14155550101');
    const second = caller('+14155550102');
    expect(connects(await first.arrive())).toBe(true);
    const twiml = await second.arrive();
    expect(twiml).toContain('<Enqueue waitUrl="/webhooks/twilio/wait" waitUrlMethod="POST" action="/webhooks/twilio/queue-exit" method="POST">switchboard</Enqueue>');
    expect((await capacity()).capacity).toMatchObject({ max: 1, inUse: 1, free: 0, waiting: 1 });
    expect((await capacity()).holders).toEqual([expect.objectContaining({ holder: `call:${first.callSid}`, kind: 'inbound', callSid: first.callSid })]);
  });

  it('tells a waiting caller their place and the wait, rounded up, over hold music', async () => {
    await start({ MAX_CONCURRENT_CALLS: '2' });
    const agents = [caller('+14155550101'), caller('+14155550102')];
    for (const connected of agents) await connected.arrive();
    // Four calls of 100 s on average, over two slots.
    for (const [index, seconds] of [100, 90, 110, 100].entries()) {
      const extra = caller(`+1415555011${index}`);
      await extra.arrive();
      await agents[0]!.endAgentCall(seconds);
      agents[0] = extra;
      // The freed slot goes to the caller waiting for it a moment later (the handoff is asynchronous):
      // the next callers arrive once the two slots are held by the two callers talking to the agent.
      const talking = agents.map((agent) => agent.callSid).sort();
      await until(capacity, (view) => view.capacity.waiting === 0 && view.holders.map((holder: { callSid: string }) => holder.callSid).sort().join() === talking.join());
    }
    const waiting = [caller('+14155550121'), caller('+14155550122'), caller('+14155550123')];
    for (const entry of waiting) await entry.arrive();
    const thirdInLine = await waiting[2]!.hold();
    // Third in line: 3 × 100 s / 2 slots = 150 s, heard as "about 3 minutes".
    expect(thirdInLine).toContain('<Say>You are currently number 3 in the queue. Estimated wait time is about 3 minutes.</Say>');
    expect(thirdInLine).toContain('<Play>https://music.example.com/hold.mp3</Play>');
    expect(thirdInLine).not.toContain('<Gather');
    const firstInLine = await waiting[0]!.hold();
    expect(firstInLine).toContain('number 1 in the queue. Estimated wait time is less than a minute.');
    expect((await capacity()).capacity).toMatchObject({ averageHandleSeconds: 100, waiting: 3 });
  });

  it('serves VIPs before callers who came earlier, and low-priority callers last', async () => {
    await start();
    const response = await service.app.inject({ method: 'PUT', url: '/api/priority-numbers/+14155550177', payload: { priority: 'low' } });
    expect(response.json()).toEqual({ success: true, number: '+14155550177', priority: 'low' });
    const listed = (await service.app.inject({ method: 'GET', url: '/api/priority-numbers' })).json();
    expect(listed.numbers).toEqual([
      { number: '+14155550177', priority: 'low', source: 'api' },
      { number: '+14155550199', priority: 'vip', source: 'config' },
    ]);

    const connected = caller('+14155550101');
    await connected.arrive();
    const low = caller('+14155550177');
    const normal = caller('+14155550102');
    const vip = caller('+14155550199');
    for (const entry of [low, normal, vip]) {
      await entry.arrive();
      await entry.hold();
    }
    expect(await vip.hold()).toContain('number 1 in the queue');
    expect(await normal.hold()).toContain('number 2 in the queue');
    expect(await low.hold()).toContain('number 3 in the queue');

    await connected.endAgentCall(60);
    await vip.endAgentCall(60);
    await normal.endAgentCall(60);
    expect(redirected()).toEqual([vip.callSid, normal.callSid, low.callSid]);
    expect(twilio.redirects[0]!.url).toBe('https://switchboard.example.com/webhooks/twilio/connect');
    const connectTwiml = (await sendTwilioWebhook(service, '/webhooks/twilio/connect', { CallSid: vip.callSid })).body;
    expect(connects(connectTwiml)).toBe(true);
  });

  it('offers a callback past the threshold; the caller keeps their place and is called back in turn', async () => {
    await start();
    const worker = await service.startWorker();
    const connected = caller('+14155550101');
    await connected.arrive();
    const patient = caller('+14155550102');
    await patient.arrive();
    // No history: five minutes a call, so the first in line already waits the threshold.
    const offer = await patient.hold();
    expect(offer).toContain('Estimated wait time is 5 to 10 minutes.');
    expect(offer).toContain('<Gather numDigits="1" action="/webhooks/twilio/callback" method="POST" timeout="5"><Say>Press 1 to be called back');
    const later = caller('+14155550103');
    await later.arrive();
    await later.hold();

    const goodbye = await patient.press('1');
    expect(goodbye).toContain('We will call you back');
    expect(goodbye).toContain('<Hangup/>');
    await sendTwilioWebhook(service, '/webhooks/twilio/queue-exit', { CallSid: patient.callSid, QueueResult: 'hangup', QueueSid: QUEUE });
    twilio.leaveQueue(QUEUE, patient.callSid);
    expect(await later.hold()).toContain('number 2 in the queue');
    expect((await capacity()).capacity).toMatchObject({ waiting: 2, callbacks: 1 });

    const calledBack = nextJobs(worker, 'completed', 1);
    await connected.endAgentCall(120);
    const [job] = await calledBack;
    expect(job!.id).toBe(`callback-${patient.callSid}`);
    const create = twilio.createsTo('+14155550102')[0]!;
    expect(create.params.Twiml).toContain('<Dial><Sip>sip:agent@voice.example.com</Sip></Dial>');
    expect((await capacity()).holders).toEqual([expect.objectContaining({ holder: `call:${patient.callSid}`, kind: 'callback' })]);
    expect(redirected()).toEqual([]);
  });

  it('lets a caller who hangs up without a callback leave the line, and skips one who left unseen', async () => {
    await start();
    const connected = caller('+14155550101');
    await connected.arrive();
    const quitter = caller('+14155550102');
    const ghost = caller('+14155550103');
    const next = caller('+14155550104');
    for (const entry of [quitter, ghost, next]) {
      await entry.arrive();
      await entry.hold();
    }
    await quitter.hangUpWhileWaiting();
    expect(await ghost.hold()).toContain('number 1 in the queue');
    // The ghost's call ended without Twilio telling us: redirecting it fails, and the slot moves on.
    twilio.leaveQueue(QUEUE, ghost.callSid);
    await connected.endAgentCall(30);
    expect(redirected()).toEqual([next.callSid]);
    expect((await capacity()).capacity).toMatchObject({ inUse: 1, waiting: 0 });
  });

  it('gives waiting callers a freed slot before outbound calls', async () => {
    await start();
    const worker = await service.startWorker();
    const connected = caller('+14155550101');
    await connected.arrive();
    await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ priority: 'high' }) });
    const waiting = caller('+14155550102');
    await waiting.arrive();
    await waiting.hold();
    await connected.endAgentCall(30);
    expect(redirected()).toEqual([waiting.callSid]);
    expect(twilio.creates).toHaveLength(0);

    const dialed = nextJobs(worker, 'completed', 1);
    await waiting.endAgentCall(30);
    await dialed;
    expect(twilio.creates).toHaveLength(1);
  });

  it('keeps the line and the slots across a restart of the API', async () => {
    await start();
    const connected = caller('+14155550101');
    await connected.arrive();
    const waiting = [caller('+14155550102'), caller('+14155550199')];
    for (const entry of waiting) {
      await entry.arrive();
      await entry.hold();
    }
    await waiting[0]!.press('1');
    const before = await capacity();
    const restarted = await startService({ ...service.env, PORT: String(await freePort()) });
    try {
      const after = (await restarted.app.inject({ method: 'GET', url: '/api/capacity' })).json();
      expect(after.capacity).toEqual(before.capacity);
      expect(after.holders).toEqual(before.holders);
    } finally {
      await restarted.app.close();
    }
  });

  it('frees, on reconciliation, a slot whose call ended without telling us', async () => {
    await start();
    const lost = caller('+14155550101');
    await lost.arrive();
    const waiting = caller('+14155550102');
    await waiting.arrive();
    await waiting.hold();
    twilio.addCall({ sid: lost.callSid, to: '+14155550100', from: lost.from, status: 'completed' });
    const response = await service.app.inject({ method: 'POST', url: '/api/capacity/reconcile' });
    expect(response.json()).toMatchObject({ success: true, released: [`call:${lost.callSid}`] });
    expect(redirected()).toEqual([waiting.callSid]);
  });

  it('frees a slot whose lease ran out (a process that died holding it)', async () => {
    await start({ CAPACITY_LEASE_SECONDS: '1' });
    await caller('+14155550101').arrive();
    const next = caller('+14155550102');
    expect(await next.arrive()).toContain('<Enqueue');
    await next.hold();
    // Nobody renews the lease, no callback comes: a second later the slot counts as free...
    await until(capacity, (view) => view.capacity.inUse === 0, 5000);
    // ...and the next caller to arrive finds the line moving: the one waiting is connected first.
    expect(await caller('+14155550103').arrive()).toContain('<Enqueue');
    expect(redirected()).toEqual([next.callSid]);
  });

  it("frees the slot on the voice agent's end-of-call report", async () => {
    await start({ AGENT_WEBHOOK_SECRET: 'agent-secret' });
    const connected = caller('+14155550101');
    await connected.arrive();
    const report = { message: { type: 'end-of-call-report', call: { id: 'vapi-1', phoneCallProviderId: connected.callSid }, durationSeconds: 75, endedReason: 'customer-ended-call' } };
    const refused = await service.app.inject({ method: 'POST', url: '/webhooks/agent/end-of-call', headers: { 'x-vapi-secret': 'wrong-secret!' }, payload: report });
    expect(refused.statusCode).toBe(403);
    const accepted = await service.app.inject({ method: 'POST', url: '/webhooks/agent/end-of-call', headers: { 'x-vapi-secret': 'agent-secret' }, payload: report });
    expect(accepted.json()).toEqual({ success: true, released: true });
    expect((await capacity()).capacity).toMatchObject({ inUse: 0, averageHandleSeconds: 75 });
    const health = (await service.app.inject({ method: 'GET', url: '/health' })).json();
    expect(health.capacity).toMatchObject({ max: 1, inUse: 0, free: 1, waiting: 0, callbacks: 0, averageHandleSeconds: 75, estimatedWaitSeconds: 0 });
  });

  it('refuses unsigned voice webhooks', async () => {
    await start();
    const response = await service.app.inject({
      method: 'POST',
      url: '/webhooks/twilio/voice',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'CallSid=CA1&From=%2B14155550101',
    });
    expect(response.statusCode).toBe(403);
    expect((await capacity()).capacity.inUse).toBe(0);
  });
});
