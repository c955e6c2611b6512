import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { describe, expect } from 'vitest';
import { createCallLog } from '../../src/call-log/call-log-writer.js';
import { DialError } from '../../src/carriers/carrier.js';
import { CALL_JOB, CALL_QUEUE_NAME, type CallJobData, type CallJobResult } from '../../src/jobs/call-jobs.js';
import { processCall, type CallProcessorDeps } from '../../workers/calls/call.processor.js';
import { dialSettings } from '../../workers/calls/call-worker-options.js';
import { startSlotWait } from '../../workers/calls/slot-wait.js';
import { carrierErrors, createMemoryCallLogWriter, silentLogger } from './fakes.js';
import { test as unitTest } from './unit-test.js';

/** A call bridged to the voice agent: it takes one of the agent's slots when it is dialed. */
const aCall: CallJobData = { to: '+14155550123', message: 'Your order has shipped.', priority: 'normal', connect: 'agent' };

/** What processCall threw; a call that succeeded fails the test. */
const rejection = (run: Promise<CallJobResult>) =>
  run.then(
    (result) => expect.unreachable(`expected the dial to fail, it placed ${result.callSid}`),
    (error: unknown) => error,
  );

/**
 * processCall with its dependencies built by hand: the fake carrier, real call records and
 * capacity, the real slot wait, a call log writing to memory, and no pacing. Jobs are real BullMQ
 * jobs, taken with their lock as a worker takes them.
 */
const test = unitTest.extend('dialing', async ({ parts, carrier, redis, prefix }, { onCleanup }) => {
  const slotWait = await startSlotWait(parts.capacity);
  // No processor: jobs are taken one at a time with getNextJob.
  const worker = new Worker<CallJobData, CallJobResult>(CALL_QUEUE_NAME, null, { connection: redis, prefix });
  onCleanup(() => Promise.all([slotWait.close(), worker.close()]).then(() => undefined));
  const log = createMemoryCallLogWriter();
  const deps: CallProcessorDeps = {
    ...dialSettings(parts.config),
    dialer: carrier,
    callRecords: parts.callRecords,
    callLog: createCallLog({ writer: log, records: parts.callRecords }),
    capacity: parts.capacity,
    slotWait,
    pacer: {},
    closing: new AbortController().signal,
    gate: parts.gate,
    clock: parts.clock,
    logger: silentLogger,
  };

  return {
    deps,
    logRows: log.rows,
    /** Queues a call that may be tried three times, retried at once. */
    async schedule(data: Partial<CallJobData> = {}) {
      const job = await parts.callQueue.add(CALL_JOB, { ...aCall, ...data }, { priority: 2, attempts: 3 });
      return job.id!;
    },
    /** Takes the next call with its lock, as a worker does; `run` processes it. */
    async take() {
      const token = randomUUID();
      const job = await worker.getNextJob(token, { block: false });
      if (!job) throw new Error('no call is waiting');
      return { job, token, run: () => processCall(job, deps, token) };
    },
  };
});
const it = test;

describe('processCall', () => {
  test.override('maxCalls', 1);

  it('dials once, stores the SID, keeps the slot for the live call and completes with the call', async ({ dialing, parts: { callRecords, capacity, config }, carrier }) => {
    const id = await dialing.schedule();
    const { job, run } = await dialing.take();

    const result = await run();

    expect(result).toEqual({ callSid: expect.stringMatching(/^CA/), callStatus: 'queued' });
    expect(carrier.dials).toEqual([
      expect.objectContaining({
        to: aCall.to,
        from: config.SIMULATED_FROM_NUMBER,
        answer: { twiml: expect.stringContaining('<Dial><Sip>') },
        statusCallbackUrl: `${config.callbackBaseUrl}/webhooks/twilio/status?jobId=${id}`,
      }),
    ]);
    expect(carrier.lookups).toEqual([]);
    expect(await callRecords.get(id)).toMatchObject({ callSid: result.callSid, callStatus: 'queued', placedAttempt: 1, dialedAt: expect.any(String) });
    expect(await callRecords.jobIdForSid(result.callSid)).toBe(id);
    expect(await capacity.holds({ jobId: id, data: job.data })).toBe(true);
    expect(dialing.logRows.map((row) => [row.status, row.call_sid])).toEqual([
      ['dialing', null],
      ['queued', result.callSid],
    ]);
  });

  it('does not dial again for a job that already has its SID (its worker died before completing it)', async ({ dialing, carrier }) => {
    await dialing.schedule();
    const first = await dialing.take();
    const placed = await first.run();
    await first.job.moveToWait(first.token);

    const again = await dialing.take();
    expect(again.job.attemptsStarted).toBe(2);
    expect(await again.run()).toEqual(placed);
    expect(carrier.dials).toHaveLength(1);
    expect(carrier.lookups).toEqual([]);
  });

  it('after an ambiguous error, looks the call up before dialing again, and adopts the call it finds', async ({ dialing, parts: { callRecords, capacity }, carrier }) => {
    // Twilio answered 500 but created the call; its call list does not show it yet.
    carrier.failNextDial(carrierErrors.ambiguous(), { createsCall: true });
    const id = await dialing.schedule();
    const first = await dialing.take();

    const error = await rejection(first.run());
    expect(error).toBeInstanceOf(DialError);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect(carrier.lookups).toHaveLength(1);
    const { dialedAt } = (await callRecords.get(id))!;
    expect(dialedAt).toEqual(expect.any(String));

    await first.job.moveToFailed(error as DialError, first.token);
    carrier.listCalls();
    const second = await dialing.take();
    expect(second.job.attemptsMade).toBe(1);
    const result = await second.run();

    const [created] = carrier.callsTo(aCall.to);
    expect(result).toEqual({ callSid: created!.sid, callStatus: 'queued' });
    expect(carrier.dials).toHaveLength(1);
    expect(carrier.lookups).toHaveLength(2);
    expect(carrier.lookups[1]!.since.getTime()).toBeLessThanOrEqual(Date.parse(dialedAt!));
    expect(await callRecords.get(id)).toMatchObject({ callSid: created!.sid, placedAttempt: 2 });
    expect(await callRecords.jobIdForSid(created!.sid)).toBe(id);
    // The recovered call is live: it holds the slot, and no other call may take it.
    expect(await capacity.holds({ jobId: id, data: second.job.data })).toBe(true);
    expect(await capacity.acquire({ callSid: 'CA-inbound' })).toBe(false);
  });

  it('after an ambiguous error, does not adopt a call to the same number that another job placed', async ({ dialing, parts: { callRecords, capacity }, carrier }) => {
    const otherId = await dialing.schedule();
    const first = await dialing.take();
    const other = await first.run();
    await capacity.callEnded({ jobId: otherId, data: first.job.data }, 10);
    carrier.failNextDial(carrierErrors.ambiguous());
    const id = await dialing.schedule();

    const error = await rejection((await dialing.take()).run());

    // The look-up finds the other job's call, and leaves it to that job.
    expect(carrier.lookups).toHaveLength(1);
    expect(error).toBeInstanceOf(DialError);
    expect((await callRecords.get(id))?.callSid).toBeUndefined();
    expect(await callRecords.jobIdForSid(other.callSid)).toBe(otherId);
  });

  it('fails at once with UnrecoverableError on a permanent error, naming the carrier code, and frees the slot', async ({ dialing, parts: { callRecords, capacity }, carrier }) => {
    carrier.failNextDial(carrierErrors.permanent());
    const id = await dialing.schedule();
    const { job, run } = await dialing.take();

    const error = await rejection(run());

    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(/21211/);
    expect(dialing.logRows.at(-1)).toMatchObject({ status: 'error', final: true, error_code: '21211' });
    expect(await capacity.holds({ jobId: id, data: job.data })).toBe(false);
    // No call came of it: nothing to look up, ever.
    expect((await callRecords.get(id))?.dialedAt).toBeUndefined();
    expect(carrier.lookups).toEqual([]);
  });

  it('retries a refused dial (429) without a look-up, keeping the carrier\'s Retry-After', async ({ dialing, parts: { callRecords, capacity }, carrier }) => {
    carrier.failNextDial(carrierErrors.retryable());
    const id = await dialing.schedule();
    const first = await dialing.take();

    const error = await rejection(first.run());
    expect(error).toBeInstanceOf(DialError);
    expect(error).toMatchObject({ retryable: true, retryAfterMs: 1_000 });
    expect(dialing.logRows.at(-1)).toMatchObject({ status: 'dial-failed', final: false, error_code: '20429' });
    expect(await capacity.holds({ jobId: id, data: first.job.data })).toBe(false);
    expect((await callRecords.get(id))?.dialedAt).toBeUndefined();

    await first.job.moveToFailed(error as DialError, first.token);
    const result = await (await dialing.take()).run();
    expect(carrier.dials).toHaveLength(2);
    expect(carrier.lookups).toEqual([]);
    expect(await callRecords.get(id)).toMatchObject({ callSid: result.callSid, placedAttempt: 2 });
  });

  it('dials a call that only speaks its message without taking a slot, even when none is free', async ({ dialing, parts: { capacity }, carrier }) => {
    await capacity.acquire({ callSid: 'CA-inbound' });
    const id = await dialing.schedule({ connect: 'say' });
    const { job, run } = await dialing.take();

    const result = await run();

    expect(carrier.dials).toEqual([expect.objectContaining({ answer: { twiml: expect.stringContaining('<Say>Your order has shipped.</Say>') } })]);
    expect(result.callSid).toMatch(/^CA/);
    expect(await capacity.holds({ jobId: id, data: job.data })).toBe(false);
  });

  it('fails a call it cannot place as asked (no callback URL for its answering-machine policy) without dialing it', async ({ dialing, carrier }) => {
    await dialing.schedule({ answeringMachine: { onHuman: 'connect', onMachine: 'hangup' } });
    const { job, token } = await dialing.take();

    const error = await rejection(processCall(job, { ...dialing.deps, connect: { ...dialing.deps.connect, callbackBaseUrl: undefined } }, token));

    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(String(error)).toContain('PUBLIC_URL');
    expect(carrier.dials).toEqual([]);
  });

  it('blocks a number on the do-not-call list: no dial, the slot given back, the job failed for good, the log says why', async ({ dialing, parts: { callRecords, capacity, contactStore }, carrier }) => {
    await contactStore.putDnc({ key: '+1415*', reason: 'area opted out', source: 'api', addedAt: new Date().toISOString(), expiresAt: null });
    const id = await dialing.schedule();
    const { job, run } = await dialing.take();

    const error = await rejection(run());

    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(String(error)).toContain('dnc');
    expect(carrier.dials).toEqual([]);
    expect(await capacity.holds({ jobId: id, data: job.data })).toBe(false);
    expect(await callRecords.get(id)).toMatchObject({ gate: { decision: 'refuse', reason: 'dnc' } });
    expect((await callRecords.get(id))?.dialedAt).toBeUndefined();
    expect(dialing.logRows.at(-1)).toMatchObject({ status: 'blocked', reason: 'dnc', final: true });
  });

  it('defers a call outside its window to the next opening: delayed, same id and priority, no attempt used, no dial', async ({ dialing, parts: { callQueue, callRecords, clock }, carrier }) => {
    // 10:00 in California is 13:00 in New York; a window that closed at 09:00 there opens again tomorrow.
    const id = await dialing.schedule({ recipientTimezone: 'America/New_York', callingWindow: 'Mon-Sun 08:00-09:00' });
    const { run } = await dialing.take();

    const error = await rejection(run());

    expect(error).toBeInstanceOf(DelayedError);
    expect(carrier.dials).toEqual([]);
    const job = (await callQueue.getJob(id))!;
    expect(await callQueue.getJobState(id)).toBe('delayed');
    expect(job).toMatchObject({ attemptsMade: 0, opts: expect.objectContaining({ priority: 2 }) });
    const gate = (await callRecords.get(id))!.gate!;
    expect(gate).toMatchObject({ decision: 'defer', reason: 'window', until: '2030-01-17T13:00:00.000Z' });
    // Moved to delayed for as long as the gate's clock has to run until the opening.
    expect(job.delay + job.timestamp).toBeGreaterThan(Date.now() + Date.parse(gate.until!) - clock.now() - 5_000);
    expect(dialing.logRows.at(-1)).toMatchObject({ status: 'deferred', reason: 'window', deferred_until: '2030-01-17T13:00:00.000Z' });
  });

  it('holds a call out of its hours back before it takes a slot or a turn to dial', async ({ dialing, parts: { capacity }, carrier }) => {
    const turns: number[] = [];
    const id = await dialing.schedule({ recipientTimezone: 'America/New_York', callingWindow: 'Mon-Sun 08:00-09:00' });
    const { job, token } = await dialing.take();
    const acquire = capacity.acquire;
    let slotsAsked = 0;

    const error = await rejection(
      processCall(job, { ...dialing.deps, pacer: { waitForTurn: async () => (turns.push(1), true) }, capacity: { ...capacity, acquire: async (owner) => (slotsAsked++, acquire(owner)) } }, token),
    );

    expect(error).toBeInstanceOf(DelayedError);
    expect([turns.length, slotsAsked, carrier.dials.length]).toEqual([0, 0, 0]);
    expect(dialing.logRows.at(-1)).toMatchObject({ job_id: id, status: 'deferred', reason: 'window' });
  });

  it('a dial the carrier refused before making a call does not count against the number’s cap', async ({ dialing, parts: { callQueue }, carrier }) => {
    carrier.failNextDial(carrierErrors.retryable());
    const id = await dialing.schedule({ frequencyCap: '1/24h' });
    const first = await dialing.take();
    const error = await rejection(first.run());
    expect(error).toBeInstanceOf(DialError);
    await first.job.moveToFailed(error as DialError, first.token);
    await (await callQueue.getJob(id))!.promote().catch(() => undefined);

    // The retry is the number's first real dial: its cap of one a day lets it through.
    const result = await (await dialing.take()).run();
    expect(result.callSid).toMatch(/^CA/);
    expect(carrier.dials).toHaveLength(2);
  });

  it('dials nothing when the gate cannot ask Redis: the error fails the attempt, to be tried again', async ({ dialing, parts: { capacity }, carrier }) => {
    const id = await dialing.schedule();
    const { job, token } = await dialing.take();
    const failing = { ...dialing.deps.gate, check: async () => Promise.reject(new Error('Connection is closed.')) };

    const error = await rejection(processCall(job, { ...dialing.deps, gate: failing }, token));

    expect(String(error)).toContain('Connection is closed');
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect(carrier.dials).toEqual([]);
    expect(await capacity.holds({ jobId: id, data: job.data })).toBe(false);
  });

  it('puts the job back at the front of its level without using an attempt when no slot is free', async ({ dialing, parts: { callQueue, callRecords, capacity }, carrier }) => {
    await capacity.acquire({ callSid: 'CA-inbound' });
    const id = await dialing.schedule();
    const behind = await dialing.schedule();
    const { run } = await dialing.take();

    const error = await rejection(run());

    expect(error).toBeInstanceOf(WaitingError);
    expect(carrier.dials).toEqual([]);
    expect((await callRecords.get(id))?.dialedAt).toBeUndefined();
    expect(await callQueue.getJobState(id)).toBe('prioritized');
    expect((await callQueue.getJob(id))?.attemptsMade).toBe(0);
    expect((await callQueue.getJobs(['prioritized'], 0, -1, true)).map((job) => job.id)).toEqual([id, behind]);
    expect(await capacity.snapshot()).toMatchObject({ inUse: 1 });
  });

  it('puts the job back, frees its slot and forgets the dial when the worker closes before its turn to dial', async ({ dialing, parts: { callQueue, callRecords, capacity }, carrier }) => {
    const id = await dialing.schedule();
    const { job, token } = await dialing.take();
    const closingBeforeTurn = { ...dialing.deps, pacer: { waitForTurn: async () => false } };

    const error = await rejection(processCall(job, closingBeforeTurn, token));

    expect(error).toBeInstanceOf(WaitingError);
    expect(carrier.dials).toEqual([]);
    expect(await capacity.holds({ jobId: id, data: job.data })).toBe(false);
    expect((await callRecords.get(id))?.dialedAt).toBeUndefined();
    expect(await callQueue.getJobState(id)).toBe('prioritized');
    expect((await callQueue.getJob(id))?.attemptsMade).toBe(0);
  });
});
