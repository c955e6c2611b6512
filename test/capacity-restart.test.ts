import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect } from 'vitest';
import { signLikeTwilio } from '../src/carriers/twilio/twilio-signature.js';
import { until } from './helpers/callbacks.js';
import { freePort } from './helpers/free-port.js';
import { it } from './helpers/fixtures.js';
import { spawnEntry, type SpawnedProcess } from './helpers/spawn-process.js';
import { TEST_AUTH_TOKEN, type StandInCall } from './helpers/twilio-stand-in.js';

const processes: SpawnedProcess[] = [];
afterEach(async () => {
  for (const process of processes.splice(0)) {
    process.kill('SIGKILL');
    await process.exited;
  }
});

const QUEUE = `QU${'b'.repeat(32)}`;

describe('killing every process mid-run', () => {
  it('loses no waiting caller or callback, and leaks no slot', async ({ twilio, startTwilioService }) => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // The test's own handle on Redis and the queue (it does not listen on `port`).
    const service = await startTwilioService({ PUBLIC_URL: base, REDIAL_ON: 'none', CALL_CONNECT_MODE: 'agent', AGENT_DIAL_TARGET: 'sip:agent@voice.example.com' });
    const env = { ...service.env, PORT: String(port), MAX_CONCURRENT_CALLS: '2', CALL_LOCK_DURATION_MS: '2000', LOG_LEVEL: 'warn' };
    const start = async () => {
      const api = spawnEntry('src/server.ts', { ...env, LOG_LEVEL: 'info' });
      const worker = spawnEntry('workers/calls/main.ts', { ...env, LOG_LEVEL: 'info' });
      processes.push(api, worker);
      await Promise.all([api.waitForLog(/Server listening/), worker.waitForLog(/call worker started/)]);
      return [api, worker];
    };

    const post = async (path: string, params: Record<string, string>) => {
      const response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signLikeTwilio(TEST_AUTH_TOKEN, `${base}${path}`, params) },
        body: new URLSearchParams(params),
      });
      expect(response.status).toBeLessThan(300);
      return response.text();
    };
    const capacity = async () => (await (await fetch(`${base}/api/capacity`)).json()) as { capacity: { inUse: number; waiting: number; callbacks: number } };
    // Twilio's part: outbound calls are answered and end as soon as they are placed.
    twilio.events.on('create', (call: StandInCall, params: Record<string, string | string[]>) => {
      const jobId = new URL(String(params.StatusCallback)).searchParams.get('jobId')!;
      void post(`/webhooks/twilio/status?jobId=${encodeURIComponent(jobId)}`, { CallSid: call.sid, CallStatus: 'completed', CallDuration: '20' });
    });
    const callers = Array.from({ length: 5 }, (_, index) => ({ callSid: `CA${randomBytes(16).toString('hex')}`, from: `+1415555${6000 + index}` }));

    const firstRun = await start();
    for (const caller of callers) await post('/webhooks/twilio/voice', { CallSid: caller.callSid, From: caller.from });
    for (const caller of callers.slice(2)) {
      twilio.enqueue(QUEUE, caller.callSid);
      await post('/webhooks/twilio/wait', { CallSid: caller.callSid, QueueSid: QUEUE });
    }
    await post('/webhooks/twilio/callback', { CallSid: callers[3]!.callSid, Digits: '1' });
    twilio.leaveQueue(QUEUE, callers[3]!.callSid);
    await post('/webhooks/twilio/queue-exit', { CallSid: callers[3]!.callSid, QueueSid: QUEUE, QueueResult: 'hangup' });
    const outbound = await fetch(`${base}/api/queue/schedule-bulk-calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls: ['+14155556101', '+14155556102', '+14155556103'].map((to) => ({ to, message: 'Reminder' })) }),
    });
    expect(outbound.status).toBe(201);
    expect((await capacity()).capacity).toMatchObject({ inUse: 2, waiting: 3, callbacks: 1 });

    // Every process dies at once, and comes back.
    for (const process of firstRun) process.kill('SIGKILL');
    await Promise.all(firstRun.map((process) => process.exited));
    await start();
    expect((await capacity()).capacity).toMatchObject({ inUse: 2, waiting: 3, callbacks: 1 });

    // The two connected calls end: the first in line is connected, the one who chose it is called back.
    await post('/webhooks/twilio/dial-ended', { CallSid: callers[0]!.callSid, DialCallDuration: '60' });
    await post('/webhooks/twilio/dial-ended', { CallSid: callers[1]!.callSid, DialCallDuration: '60' });
    await until(async () => twilio.createsTo(callers[3]!.from).length, (count) => count === 1, 15_000);
    // The first freed slot went to the first in line. (The callback's own call ends at once here, so
    // its slot may already have passed on to the next caller.)
    expect(twilio.redirects[0]?.callSid).toBe(callers[2]!.callSid);
    await post('/webhooks/twilio/dial-ended', { CallSid: callers[2]!.callSid, DialCallDuration: '60' });
    await until(async () => twilio.redirects.length, (count) => count === 2, 15_000);
    expect(twilio.redirects[1]!.callSid).toBe(callers[4]!.callSid);
    await post('/webhooks/twilio/dial-ended', { CallSid: callers[4]!.callSid, DialCallDuration: '60' });

    // Then the outbound calls: all dialed, and every slot is free again.
    await until(() => service.queue.getCompletedCount(), (count) => count === 4, 20_000);
    await until(capacity, (view) => view.capacity.inUse === 0, 10_000);
    expect((await capacity()).capacity).toMatchObject({ inUse: 0, waiting: 0, callbacks: 0 });
    expect(twilio.creates.map((create) => create.params.To).sort()).toEqual([callers[3]!.from, '+14155556101', '+14155556102', '+14155556103'].sort());
    expect(twilio.violations).toEqual([]);
  }, 90_000);
});
