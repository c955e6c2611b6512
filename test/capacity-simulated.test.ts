import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until } from './helpers/callbacks.js';
import { aCall, startService, type Service } from './helpers/harness.js';
import type { SimulatedInboundCall as SimulatedCall } from '../src/carriers/simulated/simulated-inbound.js';

let service: Service;
let redis: Redis;
let sampling = false;
beforeEach(async () => {
  // The simulated carrier plays every call, inbound and outbound, a hundred times faster than life.
  service = await startService({
    MAX_CONCURRENT_CALLS: '3',
    SIMULATED_TIME_SCALE: '0.01',
    SIMULATED_DIAL_LATENCY_MS: '0',
    CALL_WORKER_CONCURRENCY: '5',
    REDIAL_ON: 'none',
    // Calls here last under a second and the estimate follows how fast the outbound calls
    // happen to end: offer the callback to anyone who waits at all, so the caller who takes it does.
    CALLBACK_THRESHOLD_SECONDS: '1',
  });
  await service.startWorker();
  redis = new Redis(service.config.redisUrl);
});
afterEach(async () => {
  sampling = false;
  redis.disconnect();
  await service.stop();
});


const simulatedCalls = async (): Promise<SimulatedCall[]> => (await service.app.inject({ method: 'GET', url: '/simulator/inbound-calls' })).json().calls;
/** A caller dials in; the next one dials once this one is answered, so arrival order is line order. */
const simulateCaller = async (body: object): Promise<SimulatedCall> => {
  const response = await service.app.inject({ method: 'POST', url: '/simulator/inbound-calls', payload: body });
  expect(response.statusCode).toBe(201);
  const { callSid } = response.json().call as SimulatedCall;
  return until(
    async () => (await simulatedCalls()).find((call) => call.callSid === callSid)!,
    (call) => call.state !== 'ringing',
  );
};

describe('twenty simulated callers and fifty outbound calls against a cap of three', () => {
  it('never has more than three live, serves VIPs first, announces the wait, calls back in turn, leaks no slot', async () => {
    await service.app.inject({ method: 'PUT', url: '/api/priority-numbers/+14155550199', payload: { priority: 'vip' } });
    await service.app.inject({ method: 'PUT', url: '/api/priority-numbers/+14155550198', payload: { priority: 'vip' } });

    // Watch the slots for the whole run.
    let mostInUse = 0;
    sampling = true;
    const leases = `${service.config.QUEUE_PREFIX}:capacity:leases`;
    const sampler = (async () => {
      while (sampling) {
        mostInUse = Math.max(mostInUse, await redis.zcard(leases).catch(() => 0));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    const outbound = await service.app.inject({
      method: 'POST',
      url: '/api/queue/schedule-bulk-calls',
      // Calls bridged to the (simulated) agent: they compete with the callers for its three slots.
      payload: { calls: Array.from({ length: 50 }, (_, index) => aCall({ to: `+1415555${4000 + index}`, message: 'Reminder', connect: 'agent' })) },
    });
    expect(outbound.statusCode).toBe(201);

    const callers: SimulatedCall[] = [];
    for (let index = 0; index < 18; index++) {
      callers.push(await simulateCaller({ from: `+1415555${5000 + index}`, talkSeconds: 60, acceptsCallback: index === 6 }));
    }
    const vips = [await simulateCaller({ from: '+14155550199', talkSeconds: 60 }), await simulateCaller({ from: '+14155550198', talkSeconds: 60 })];

    await until(
      async () => ({ calls: await simulatedCalls(), completed: await service.queue.getCompletedCount(), capacity: (await service.app.inject({ method: 'GET', url: '/api/capacity' })).json().capacity }),
      ({ calls, completed, capacity }) =>
        calls.every((call) => call.state === 'ended') && completed === 51 && capacity.inUse === 0 && capacity.waiting === 0,
      60_000,
    );
    sampling = false;
    await sampler;

    const calls = await simulatedCalls();
    const byNumber = new Map(calls.map((call) => [call.from, call]));
    expect(mostInUse).toBe(3);

    // The VIPs called last, yet went to the front of the line: told number 1 and 2 while the last
    // normal callers were told five or more, and connected before those who had waited longer.
    const firstPosition = (call: SimulatedCall) => Number(/number (\d+)/.exec(call.heard.find((line) => line.startsWith('You are')) ?? '')?.[1]);
    // (A VIP given a slot before its first hold message hears none: even better.)
    for (const vip of vips) {
      const heard = byNumber.get(vip.from)!;
      if (heard.heard.length > 0) expect(firstPosition(heard)).toBeLessThanOrEqual(2);
    }
    const lastNormal = byNumber.get('+14155555017')!;
    expect(firstPosition(lastNormal)).toBeGreaterThanOrEqual(5);
    for (const vip of vips) expect(Date.parse(byNumber.get(vip.from)!.connectedAt!)).toBeLessThan(Date.parse(lastNormal.connectedAt!));

    // Every announcement is one the seed describes, with a position.
    for (const call of calls) {
      for (const line of call.heard.filter((heard) => heard.startsWith('You are'))) {
        expect(line).toMatch(/^You are currently number \d+ in the queue\. Estimated wait time is (less than a minute|about 1 minute|about [2-4] minutes|5 to 10 minutes|more than 10 minutes)\.$/);
      }
    }

    // The caller who chose a callback was called back once their turn came, and no slot is left held.
    const patient = byNumber.get('+14155555006')!;
    expect(patient).toMatchObject({ state: 'ended', calledBackAt: expect.any(String) });
    const callback = await service.queue.getJob(`callback-${patient.callSid}`);
    expect(callback?.data).toMatchObject({ to: patient.from, connectToAgent: true });
    expect(await callback!.getState()).toBe('completed');
    // Their turn: everyone who was in line ahead of them was given a slot before them.
    const served = ((await service.app.inject({ method: 'GET', url: '/api/capacity' })).json().recentlyServed as Array<{ callSid: string; callback: boolean }>)
      .map((entry) => entry.callSid)
      .reverse();
    expect(served).toContain(patient.callSid);
    const aheadOfThem = calls.filter((call) => !['+14155550199', '+14155550198'].includes(call.from) && call.heard.length > 0 && Date.parse(call.arrivedAt) < Date.parse(patient.arrivedAt));
    for (const call of aheadOfThem) expect(served.indexOf(call.callSid)).toBeLessThan(served.indexOf(patient.callSid));
    expect(await redis.zcard(leases)).toBe(0);
  }, 90_000);
});
