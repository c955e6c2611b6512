import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import type { Worker } from 'bullmq';
import { describe, expect } from 'vitest';
import { sendStatusCallback, sendTwilioWebhook, until } from './helpers/callbacks.js';
import { it, test, type StartService } from './helpers/fixtures.js';
import { aCall, nextJobs, supabaseEnv, type Service } from './helpers/harness.js';
import type { Supabase } from './helpers/supabase.js';
import type { TwilioStandIn } from './helpers/twilio-stand-in.js';

interface Row {
  job_id: string;
  attempt: number;
  status: string;
  final: boolean;
  call_sid: string | null;
  [column: string]: unknown;
}

let supabase: Supabase;
let twilio: TwilioStandIn;
let startService: StartService;
let service: Service;

// Supabase first: fixtures stop in reverse order, so it outlives the services that write to it.
test.beforeEach(({ supabase: started, startService: startSimulated }) => {
  supabase = started;
  startService = startSimulated;
});

const clientFor = (key: string) => createClient(supabase.url, key, { auth: { persistSession: false }, realtime: { transport: WebSocket as never } });
const serviceClient = () => clientFor(supabase.serviceRoleKey);
const rowsOf = async (): Promise<Row[]> => {
  const { data, error } = await serviceClient().from('call_logs').select('*').order('job_id').order('attempt');
  if (error) throw new Error(error.message);
  return data as Row[];
};
const schedule = async (payload: object, url = 'schedule-call') => {
  const response = await service.app.inject({ method: 'POST', url: `/api/queue/${url}`, payload });
  expect(response.statusCode).toBe(201);
  return response.json().jobId as string;
};

describe('the call log in Supabase', () => {
  let worker: Worker;
  test.beforeEach(async ({ twilio: standIn, startTwilioService }) => {
    twilio = standIn;
    service = await startTwilioService({
      ...supabaseEnv(supabase),
      PUBLIC_URL: 'https://switchboard.example.com',
      CALL_BACKOFF_MS: '50',
      REDIAL_ON: 'busy',
      REDIAL_DELAY_MS: '600000',
    });
    worker = await service.startWorker();
    await service.startCallLogWorker();
  });

  it('holds one correct row per attempt, with its final outcome, after a mix of calls', async () => {
    twilio.failNext('+14155550103', { status: 400, code: 21211, message: 'Invalid number' });
    twilio.failNext('+14155550104', { status: 503, code: 20503, message: 'Unavailable' });
    const placed = nextJobs(worker, 'completed', 4);
    const failed = nextJobs(worker, 'failed', 1);
    const answered = await schedule(aCall({ to: '+14155550101', lead_id: 'lead-a', metadata: { campaign: 'q4' } }));
    const delayed = await schedule(aCall({ to: '+14155550102', delayMs: 200 }), 'schedule-delayed-call');
    const invalid = await schedule(aCall({ to: '+14155550103' }));
    const retried = await schedule(aCall({ to: '+14155550104' }));
    const busy = await schedule(aCall({ to: '+14155550105', lead_id: 'lead-e' }));
    const jobs = await placed;
    await failed;
    const sidOf = (jobId: string) => jobs.find((job) => job.id === jobId)!.returnvalue.callSid as string;

    await sendStatusCallback(service, answered, { CallSid: sidOf(answered), CallStatus: 'in-progress', AnsweredBy: 'human' });
    await sendStatusCallback(service, answered, { CallSid: sidOf(answered), CallStatus: 'completed', CallDuration: '42', AnsweredBy: 'human', SipResponseCode: '200' });
    await sendStatusCallback(service, delayed, { CallSid: sidOf(delayed), CallStatus: 'no-answer', CallDuration: '0' });
    await sendStatusCallback(service, retried, { CallSid: sidOf(retried), CallStatus: 'completed', CallDuration: '5' });
    await sendStatusCallback(service, busy, { CallSid: sidOf(busy), CallStatus: 'busy', CallDuration: '0' });
    const redial = await until(
      async () => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${busy}` })).json().call.redialJobId as string | null,
      (id) => id !== null,
    );
    const scheduledRedial = await until(rowsOf, (all) => all.some((row) => row.job_id === redial));
    expect(scheduledRedial.find((row) => row.job_id === redial)).toMatchObject({ status: 'scheduled', final: false, redial_number: 1 });

    // The redial's time comes: it is dialed, and this time the call is answered.
    const redialed = nextJobs(worker, 'completed', 1);
    await (await service.queue.getJob(redial!))!.promote();
    const [redialJob] = await redialed;
    await sendStatusCallback(service, redial!, { CallSid: redialJob!.returnvalue.callSid, CallStatus: 'completed', CallDuration: '12' });

    // 6 jobs (one of them dialed twice): 7 attempts, each with its final outcome.
    const rows = await until(rowsOf, (all) => all.length === 7 && all.filter((row) => row.final).length === 6);
    const row = (jobId: string, attempt = 1) => rows.find((entry) => entry.job_id === jobId && entry.attempt === attempt)!;

    expect(row(answered)).toMatchObject({
      status: 'completed',
      final: true,
      call_sid: sidOf(answered),
      duration_seconds: 42,
      answered_by: 'human',
      sip_response_code: 200,
      lead_id: 'lead-a',
      to_number: '+14155550101',
      priority: 'normal',
      metadata: { campaign: 'q4' },
      redial_number: 0,
    });
    expect((row(answered).timeline as Array<{ status: string }>).map((entry) => entry.status)).toEqual(['queued', 'in-progress', 'completed']);
    expect(row(answered).placed_at).not.toBeNull();
    expect(row(answered).ended_at).not.toBeNull();
    expect(row(delayed)).toMatchObject({ status: 'no-answer', final: true, scheduled_at: expect.any(String) });
    expect(row(invalid)).toMatchObject({ status: 'error', final: true, error_code: '21211', call_sid: null });
    expect(row(retried, 1)).toMatchObject({ status: 'dial-failed', final: false, error_code: '20503', call_sid: null });
    expect(row(retried, 2)).toMatchObject({ status: 'completed', final: true, call_sid: sidOf(retried), duration_seconds: 5 });
    expect(row(busy)).toMatchObject({ status: 'busy', final: true, lead_id: 'lead-e' });
    expect(row(redial!)).toMatchObject({
      status: 'completed',
      final: true,
      duration_seconds: 12,
      call_sid: redialJob!.returnvalue.callSid,
      redial_number: 1,
      redial_of: busy,
      root_job_id: busy,
      lead_id: 'lead-e',
      to_number: '+14155550105',
    });
  });

  it("says why the contactability gate held an attempt back (deferred, until when) or refused it (blocked), and how calls ended", async () => {
    await service.app.inject({ method: 'PUT', url: '/api/dnc/+14155550166', payload: { reason: 'asked' } });
    const blocked = await schedule(aCall({ to: '+14155550166' }));
    const deferred = await schedule(aCall({ to: '+14155550167', recipientTimezone: 'Pacific/Kiritimati', callingWindow: 'Mon-Sun 03:00-03:01' }));
    const machine = await schedule(aCall({ to: '+14155550168', connect: 'say', answeringMachine: { onMachine: 'voicemail' } }));
    const machineSid = (await until(() => service.app.inject({ method: 'GET', url: `/api/queue/job/${machine}` }).then((response) => response.json()), (job) => job.callSid !== null)).callSid;
    await sendTwilioWebhook(service, `/webhooks/twilio/outbound-answer?jobId=${machine}`, { CallSid: machineSid, AnsweredBy: 'machine_end_beep' });
    await sendStatusCallback(service, machine, { CallSid: machineSid, CallStatus: 'completed', CallDuration: '25', AnsweredBy: 'machine_end_beep' });

    const rows = await until(rowsOf, (all) => [blocked, deferred, machine].every((jobId) => all.some((row) => row.job_id === jobId && row.status !== 'scheduled')) && all.some((row) => row.job_id === machine && row.final));
    const rowOf = (jobId: string) => rows.find((row) => row.job_id === jobId)!;
    expect(rowOf(blocked)).toMatchObject({ status: 'blocked', reason: 'dnc', final: true, deferred_until: null, call_sid: null });
    expect(rowOf(deferred)).toMatchObject({ status: 'deferred', reason: 'window', final: false, deferred_until: expect.any(String), call_sid: null });
    expect(rowOf(machine)).toMatchObject({ status: 'completed', outcome: 'voicemail-left', connect_mode: 'say', answered_by: 'machine_end_beep', final: true });
  });

  it('reads nothing with the anon key', async () => {
    const done = nextJobs(worker, 'completed', 1);
    await schedule(aCall());
    await done;
    await until(rowsOf, (all) => all.length === 1);
    const anon = clientFor(supabase.anonKey);
    const { data, error } = await anon.from('call_logs').select('*');
    expect(data ?? []).toEqual([]);
    expect(error?.code).toBe('42501');
    const [security] = await supabase.query<{ relrowsecurity: boolean }>("select relrowsecurity from pg_class where relname = 'call_logs'");
    expect(security!.relrowsecurity).toBe(true);
  });

  it('keeps the newest row when an older write arrives late, and stamps updated_at', async () => {
    const done = nextJobs(worker, 'completed', 1);
    const jobId = await schedule(aCall());
    const [job] = await done;
    await sendStatusCallback(service, jobId, { CallSid: job!.returnvalue.callSid, CallStatus: 'completed', CallDuration: '9' });
    const [latest] = await until(rowsOf, (all) => all[0]?.status === 'completed');

    const { id: _id, created_at: _created, updated_at: _updated, ...columns } = latest!;
    const stale = { ...columns, status: 'ringing', final: false, version: 1 };
    const { error } = await serviceClient().from('call_logs').upsert(stale, { onConflict: 'job_id,attempt' });
    expect(error).toBeNull();
    const [after] = await rowsOf();
    expect(after).toMatchObject({ status: 'completed', version: latest!.version });

    await supabase.query('update call_logs set answered_by = $1 where job_id = $2', ['human', jobId]);
    const [touched] = await supabase.query<{ updated_at: Date; created_at: Date }>('select updated_at, created_at from call_logs where job_id = $1', [jobId]);
    expect(touched!.updated_at.getTime()).toBeGreaterThan(new Date(latest!.updated_at as string).getTime());
  });
});

describe('while Supabase is down', () => {
  it('keeps every row in the outbox and writes them all, with final outcomes, once it is back', async () => {
    service = await startService({ ...supabaseEnv(supabase), SIMULATED_TIME_SCALE: '0.02', SIMULATED_DIAL_LATENCY_MS: '0', REDIAL_ON: 'none' });
    await service.startWorker();
    await service.startCallLogWorker();
    await supabase.stopRest();

    const numbers = ['+14155550123', '+14155559001', '+14155559002', '+14155559003', '+14155559004', '+14155550124'];
    const jobIds: string[] = [];
    for (const to of numbers) jobIds.push(await schedule(aCall({ to, timeout: 10 })));
    const views = await until(
      () => Promise.all(jobIds.map(async (jobId) => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json())),
      (all) => all.every((job) => job.call.final || job.state === 'failed'),
    );
    expect(await rowsOf().catch(() => 'unreachable')).toBe('unreachable');

    await supabase.startRest();
    const rows = await until(rowsOf, (all) => all.length === numbers.length && all.every((row) => row.final), 20_000);
    const statusOf = (jobId: string) => rows.find((row) => row.job_id === jobId)!.status;
    expect(jobIds.map(statusOf)).toEqual(['completed', 'busy', 'no-answer', 'failed', 'error', 'completed']);
    for (const view of views.filter((job) => job.callSid)) {
      expect(rows.find((row) => row.job_id === view.jobId)).toMatchObject({ call_sid: view.callSid, status: view.call.status });
    }
  });
});

describe('GET /api/calls', () => {
  test.beforeEach(async () => {
    service = await startService({ ...supabaseEnv(supabase), SIMULATED_TIME_SCALE: '0.02', SIMULATED_DIAL_LATENCY_MS: '0', REDIAL_ON: 'none' });
    await service.startWorker();
    await service.startCallLogWorker();
  });

  const list = async (query: string) => {
    const response = await service.app.inject({ method: 'GET', url: `/api/calls${query}` });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as { calls: Row[]; nextCursor: string | null };
  };

  it('filters by lead, status, number and time, and pages through everything once', async () => {
    const calls = [
      aCall({ lead_id: 'a', to: '+14155550121' }),
      aCall({ lead_id: 'a', to: '+14155559001' }),
      aCall({ lead_id: 'b', to: '+14155550122' }),
      aCall({ lead_id: 'b', to: '+14155559003' }),
      aCall({ lead_id: 'c', to: '+14155550123' }),
    ];
    const start = new Date().toISOString();
    const jobIds: string[] = [];
    for (const call of calls) jobIds.push(await schedule(call));
    await until(rowsOf, (all) => all.length === 5 && all.every((row) => row.final));

    expect((await list('?lead_id=a')).calls.map((row) => row.job_id).sort()).toEqual([jobIds[0], jobIds[1]].sort());
    expect((await list('?status=busy')).calls.map((row) => row.job_id)).toEqual([jobIds[1]]);
    expect((await list('?to=%2B1%20415%20555%209003')).calls.map((row) => row.job_id)).toEqual([jobIds[3]]);
    expect((await list(`?since=${encodeURIComponent(start)}&status=completed`)).calls).toHaveLength(3);
    expect((await list(`?until=${encodeURIComponent(start)}`)).calls).toHaveLength(0);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.calls.map((row) => row.job_id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);
    expect([...seen].sort()).toEqual([...jobIds].sort());
    const createdAt = (await list('')).calls.map((row) => row.created_at as string);
    expect(createdAt).toEqual([...createdAt].sort().reverse());
  });

  it.each([
    ['a bad cursor', '?cursor=nope'],
    ['a limit too large', '?limit=501'],
    ['a bad time', '?since=yesterday'],
    ['a bad number', '?to=12'],
    ['an unknown filter', '?campaign=x'],
  ])('refuses %s', async (_name, query) => {
    const response = await service.app.inject({ method: 'GET', url: `/api/calls${query}` });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('VALIDATION_ERROR');
  });

  it('answers 502 while Supabase is down', async () => {
    await supabase.stopRest();
    const response = await service.app.inject({ method: 'GET', url: '/api/calls' });
    expect(response.statusCode).toBe(502);
    expect(response.json().error).toBe('CALL_LOG_UNAVAILABLE');
  });
});

describe('with logging off', () => {
  it('says so: GET /api/calls answers 404 CALL_LOG_DISABLED', async () => {
    service = await startService();
    const response = await service.app.inject({ method: 'GET', url: '/api/calls' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ success: false, error: 'CALL_LOG_DISABLED' });
    // Nothing waits in the outbox (the dashboard's handle on the queue keeps only its meta).
    expect((await service.redisKeys('call-log:*')).filter((key) => !key.endsWith(':meta'))).toEqual([]);
  });
});
