import { describe, expect, onTestFinished } from 'vitest';
import { TWILIO_WEBHOOK_PATHS } from '../../src/carriers/twilio/webhook-paths.js';
import { CALL_JOB, type CallJobData } from '../../src/jobs/call-jobs.js';
import { jobIds } from '../../src/jobs/job-ids.js';
import { it, test } from './unit-test.js';

const aCall: CallJobData = { to: '+14155550123', message: 'Your order has shipped.', priority: 'normal' };
const outbound = (jobId: string) => ({ jobId, data: {} });
const placedAt = () => new Date().toISOString();

describe('slots', () => {
  test.override('maxCalls', 2);

  it('never holds more than the maximum, however many ask at once', async ({ parts: { capacity } }) => {
    const owners = [outbound('1'), { callSid: 'CA-in-1' }, outbound('2'), { callSid: 'CA-in-2' }, outbound('3'), outbound('4')];
    const granted = await Promise.all(owners.map((owner) => capacity.acquire(owner)));

    expect(granted.filter(Boolean)).toHaveLength(2);
    expect(await capacity.snapshot()).toMatchObject({ inUse: 2, free: 0, max: 2 });
    // A holder asking again renews its slot rather than taking a second one.
    expect(await capacity.acquire(owners[granted.indexOf(true)]!)).toBe(true);
    expect(await capacity.holders()).toHaveLength(2);
  });

  it('gives a job a slot and takes it back once', async ({ parts: { capacity } }) => {
    const job = outbound('17');
    expect(await capacity.acquire(job)).toBe(true);
    expect(await capacity.holds(job)).toBe(true);
    expect(await capacity.holders()).toEqual([expect.objectContaining({ kind: 'outbound', jobId: '17' })]);

    expect(await capacity.release(job)).toBe(true);
    expect(await capacity.release(job)).toBe(false);
    expect(await capacity.holds(job)).toBe(false);
    expect(await capacity.snapshot()).toMatchObject({ inUse: 0, free: 2 });
  });

  it('gives an inbound call a slot, frees it when the call ends, and counts its handle time once', async ({ parts: { capacity } }) => {
    const call = { callSid: 'CA-inbound' };
    expect(await capacity.acquire(call)).toBe(true);
    expect(await capacity.holders()).toEqual([expect.objectContaining({ kind: 'inbound', callSid: 'CA-inbound' })]);

    expect(await capacity.callEnded(call, 90)).toBe(true);
    // The same end reported again (a callback and the agent's report) changes nothing.
    expect(await capacity.callEnded(call, 30)).toBe(false);
    expect(await capacity.holds(call)).toBe(false);
    expect(await capacity.snapshot()).toMatchObject({ inUse: 0, averageHandleSeconds: 90 });
  });

  // A missed event fails in 2 s rather than at the suite's timeout.
  it('tells every listener when a slot frees', { timeout: 2_000 }, async ({ parts: { capacity } }) => {
    let heard!: () => void;
    const freed = new Promise<void>((resolve) => (heard = resolve));
    const subscription = await capacity.onSlotFreed(() => heard());
    onTestFinished(() => subscription.close());

    await capacity.acquire(outbound('1'));
    await capacity.callEnded(outbound('1'), 12);
    await freed;
  });
});

describe('waiting callers', () => {
  test.override('maxCalls', 1);
  const caller = '+14155550111';
  const vip = '+14155550122';

  it('get a freed slot before any job, VIP first, and are taken out of the carrier queue', async ({ parts: { capacity, inbound, priorities, config }, carrier }) => {
    await capacity.acquire(outbound('live'));
    await inbound.answer({ callSid: 'CA-normal', from: caller });
    await priorities.set(vip, 'vip');
    await inbound.answer({ callSid: 'CA-vip', from: vip });
    await inbound.hold({ callSid: 'CA-vip', queueSid: 'QU-1' });
    expect(await capacity.snapshot()).toMatchObject({ inUse: 1, waiting: 2 });

    expect(await capacity.release(outbound('live'))).toBe(true);

    expect(await capacity.holds({ callSid: 'CA-vip' })).toBe(true);
    expect(carrier.redirects).toEqual([{ queueSid: 'QU-1', callSid: 'CA-vip', url: `${config.apiBaseUrl}${TWILIO_WEBHOOK_PATHS.connect}` }]);
    expect(await capacity.acquire(outbound('next'))).toBe(false);
    expect(await capacity.snapshot()).toMatchObject({ inUse: 1, waiting: 1 });
    expect(await capacity.recentlyServed()).toEqual([expect.objectContaining({ callSid: 'CA-vip', callback: false })]);
  });

  it('pass the slot on when the first caller left before being connected', async ({ parts: { capacity, inbound }, carrier }) => {
    await capacity.acquire(outbound('live'));
    await inbound.answer({ callSid: 'CA-first', from: caller });
    await inbound.hold({ callSid: 'CA-first', queueSid: 'QU-1' });
    await inbound.answer({ callSid: 'CA-second', from: vip });
    carrier.gone.add('CA-first');

    await capacity.release(outbound('live'));

    expect(await capacity.holds({ callSid: 'CA-first' })).toBe(false);
    expect(await capacity.holds({ callSid: 'CA-second' })).toBe(true);
    expect(await capacity.snapshot()).toMatchObject({ inUse: 1, waiting: 0 });
  });

  it('who chose a callback are called back in the slot their turn gave them', async ({ parts: { capacity, inbound, callQueue } }) => {
    await capacity.acquire(outbound('live'));
    await inbound.answer({ callSid: 'CA-caller', from: caller });
    await inbound.chooseCallback({ callSid: 'CA-caller', digits: '1' });

    await capacity.release(outbound('live'));

    const callback = await callQueue.getJob(jobIds.callback('CA-caller'));
    expect(callback?.data).toMatchObject({ to: caller, priority: 'high', connectToAgent: true, callbackFor: 'CA-caller' });
    // The callback's job renews the caller's slot rather than asking for one more.
    expect(await capacity.acquire({ jobId: callback!.id!, data: callback!.data })).toBe(true);
    expect(await capacity.snapshot()).toMatchObject({ inUse: 1, waiting: 0 });
  });
});

describe('reconciliation', () => {
  test.override('maxCalls', 3);

  it('frees the slots of calls the carrier reports ended or no longer knows, and keeps live ones', async ({ parts: { capacity, callRecords }, carrier }) => {
    carrier.addCall({ sid: 'CA-out', to: aCall.to, from: '+14155550100', status: 'in-progress' });
    await capacity.acquire(outbound('placed'));
    await callRecords.recordPlaced('placed', 'CA-out', 1, { status: 'queued', at: placedAt(), callSid: 'CA-out' });
    carrier.addCall({ sid: 'CA-live', to: '+14155550100', from: aCall.to, status: 'in-progress' });
    await capacity.acquire({ callSid: 'CA-live' });
    // An inbound call the carrier has no record of.
    await capacity.acquire({ callSid: 'CA-unknown' });

    expect(await capacity.reconcile()).toMatchObject({ released: [expect.any(String)], renewed: 2 });
    expect(await capacity.holds({ callSid: 'CA-unknown' })).toBe(false);

    // The final status callback was lost: only the carrier knows the call ended.
    carrier.setStatus('CA-out', 'completed');
    expect(await capacity.reconcile()).toMatchObject({ released: [expect.any(String)], renewed: 1 });
    expect(await capacity.holds(outbound('placed'))).toBe(false);
    expect(await capacity.holds({ callSid: 'CA-live' })).toBe(true);
  });
});

describe("the voice agent's end-of-call report, which names only the call", () => {
  test.override('maxCalls', 2);

  it('frees the slot of the outbound job that placed the call, and counts its handle time once', async ({ parts: { capacity, callQueue, callRecords } }) => {
    const job = await callQueue.add(CALL_JOB, aCall);
    const owner = { jobId: job.id!, data: job.data };
    await capacity.acquire(owner);
    await callRecords.recordPlaced(job.id!, 'CA-placed', 1, { status: 'queued', at: placedAt(), callSid: 'CA-placed' });

    expect(await capacity.releaseForCallSid('CA-placed', 42)).toBe(true);
    expect(await capacity.holds(owner)).toBe(false);
    expect(await capacity.releaseForCallSid('CA-placed', 100)).toBe(false);
    expect(await capacity.snapshot()).toMatchObject({ inUse: 0, averageHandleSeconds: 42 });
  });

  it("frees a callback's slot, which its caller was given in line", async ({ parts: { capacity, inbound, callQueue, callRecords } }) => {
    await capacity.acquire(outbound('live-1'));
    await capacity.acquire(outbound('live-2'));
    await inbound.answer({ callSid: 'CA-caller', from: '+14155550111' });
    await inbound.chooseCallback({ callSid: 'CA-caller', digits: '1' });
    await capacity.release(outbound('live-1'));
    const callback = (await callQueue.getJob(jobIds.callback('CA-caller')))!;
    await capacity.acquire({ jobId: callback.id!, data: callback.data });
    await callRecords.recordPlaced(callback.id!, 'CA-callback', 1, { status: 'queued', at: placedAt(), callSid: 'CA-callback' });

    expect(await capacity.releaseForCallSid('CA-callback', 60)).toBe(true);
    expect(await capacity.holds({ callSid: 'CA-caller' })).toBe(false);
    expect(await capacity.snapshot()).toMatchObject({ inUse: 1 });
  });

  it('frees the slot of an inbound call by its SID', async ({ parts: { capacity } }) => {
    await capacity.acquire({ callSid: 'CA-inbound' });
    expect(await capacity.releaseForCallSid('CA-inbound', undefined)).toBe(true);
    expect(await capacity.holds({ callSid: 'CA-inbound' })).toBe(false);
  });
});
