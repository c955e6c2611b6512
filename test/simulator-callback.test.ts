import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until } from './helpers/callbacks.js';
import { startService, type Service } from './helpers/harness.js';
import type { SimulatedInboundCall as SimulatedCall } from '../src/carriers/simulated/simulated-inbound.js';

let service: Service;
beforeEach(async () => {
  // One slot, calls a hundred times faster than life, and a callback offered to anyone who would wait.
  service = await startService({ MAX_CONCURRENT_CALLS: '1', SIMULATED_TIME_SCALE: '0.01', REDIAL_ON: 'none', CALLBACK_THRESHOLD_SECONDS: '5' });
  await service.startWorker();
});
afterEach(() => service.stop());


const simulatedCall = async (callSid: string): Promise<SimulatedCall> =>
  ((await service.app.inject({ method: 'GET', url: '/simulator/inbound-calls' })).json().calls as SimulatedCall[]).find((call) => call.callSid === callSid)!;
const dialIn = async (body: object): Promise<string> =>
  (await service.app.inject({ method: 'POST', url: '/simulator/inbound-calls', payload: body })).json().call.callSid;

describe('the simulator view of a caller who asked for a callback', () => {
  it('shows them called back, connected, then served', async () => {
    const first = await dialIn({ from: '+14155550301', talkSeconds: 100 });
    await until(() => simulatedCall(first), (call) => call.state === 'connected');
    const patient = await dialIn({ from: '+14155550302', acceptsCallback: true });
    await until(() => simulatedCall(patient), (call) => call.state === 'called-back-later');

    // The first caller hangs up, the slot goes to the patient one: their phone rings and they answer.
    const served = await until(() => simulatedCall(patient), (call) => call.state === 'ended');
    expect(served.calledBackAt).toEqual(expect.any(String));
    expect(served.connectedAt).toBe(served.calledBackAt);
    expect(Date.parse(served.endedAt!)).toBeGreaterThanOrEqual(Date.parse(served.calledBackAt!));
    expect(served.heard.at(-1)).toBe('Hello, this is the call back you asked for. Connecting you now.');
    expect(await (await service.queue.getJob(`callback-${patient}`))!.getState()).toBe('completed');
  });
});
