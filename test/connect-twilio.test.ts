import { describe, expect } from 'vitest';
import { signLikeTwilio } from '../src/carriers/twilio/twilio-signature.js';
import { sendStatusCallback, sendTwilioWebhook, until } from './helpers/callbacks.js';
import { it, test } from './helpers/fixtures.js';
import { aCall, type Service } from './helpers/harness.js';
import type { TwilioStandIn } from './helpers/twilio-stand-in.js';

const PUBLIC_URL = 'https://switchboard.example.com';
test.override({
  serviceEnv: {
    PUBLIC_URL,
    AGENT_DIAL_TARGET: 'sip:agent@voice.example.com',
    AGENT_STREAM_URL: 'wss://agent.example.com/twilio',
    MAX_CONCURRENT_CALLS: '2',
    REDIAL_ON: 'none',
  },
});

const schedule = async (service: Service, payload: object) => {
  const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().jobId as string;
};
const getJob = async (service: Service, jobId: string) => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();
const placed = (service: Service, jobId: string) => until(() => getJob(service, jobId), (job) => job.callSid !== null);
const holders = async (service: Service) => ((await service.app.inject({ method: 'GET', url: '/api/capacity' })).json().holders as Array<{ jobId?: string }>).map((holder) => holder.jobId);
const answerPath = (jobId: string) => `/webhooks/twilio/outbound-answer?jobId=${encodeURIComponent(jobId)}`;
const updatesOf = (twilio: TwilioStandIn, callSid: string) => twilio.requests.filter((request) => request.method === 'POST' && request.path.endsWith(`/Calls/${callSid}.json`)).map((request) => request.params);
const createOf = (twilio: TwilioStandIn, callSid: string, jobId: string) => {
  const create = twilio.creates.find((request) => String(request.params.StatusCallback).includes(encodeURIComponent(jobId)));
  expect(create, `the create of ${callSid}`).toBeDefined();
  return create!.params;
};

describe('outbound calls through Twilio, by connect mode and answering-machine policy', () => {
  it('places each mode with requests valid under Twilio’s OpenAPI description', async ({ service, twilio }) => {
    await service.startWorker();
    const stream = await schedule(service, aCall({ connect: 'stream', lead_id: 'lead-1', answeringMachine: { onMachine: 'voicemail' } }));
    const sayWithPolicy = await schedule(service, aCall({ connect: 'say', answeringMachine: { onMachine: 'hangup' } }));
    const agent = await schedule(service, aCall({ connect: 'agent', agentTarget: '+14155550999' }));

    const streamCall = createOf(twilio, (await placed(service, stream)).callSid, stream);
    expect(streamCall).toMatchObject({
      Twiml: expect.stringContaining('<Connect><Stream url="wss://agent.example.com/twilio"><Parameter name="job_id"'),
      MachineDetection: 'DetectMessageEnd',
      AsyncAmd: 'true',
      AsyncAmdStatusCallback: `${PUBLIC_URL}${answerPath(stream)}`,
      AsyncAmdStatusCallbackMethod: 'POST',
    });
    expect(streamCall.Url).toBeUndefined();

    const sayCall = createOf(twilio, (await placed(service, sayWithPolicy)).callSid, sayWithPolicy);
    expect(sayCall).toMatchObject({ Url: `${PUBLIC_URL}${answerPath(sayWithPolicy)}`, Method: 'POST', MachineDetection: 'Enable' });
    expect(sayCall.Twiml).toBeUndefined();
    expect(sayCall.AsyncAmd).toBeUndefined();

    const agentCall = createOf(twilio, (await placed(service, agent)).callSid, agent);
    expect(agentCall).toMatchObject({ Twiml: expect.stringContaining('<Dial><Number>+14155550999</Number></Dial>') });
    expect(agentCall.MachineDetection).toBeUndefined();
  });

  it("a machine verdict after the agent started hangs the call up and frees its slot at once, before the call's end is reported", async ({ service, twilio }) => {
    await service.startWorker();
    const jobId = await schedule(service, aCall({ connect: 'stream', answeringMachine: { onMachine: 'hangup' } }));
    const { callSid } = await placed(service, jobId);
    expect(await holders(service)).toContain(jobId);

    const verdict = await sendTwilioWebhook(service, answerPath(jobId), { AccountSid: 'AC'.padEnd(34, '0'), CallSid: callSid, AnsweredBy: 'machine_start', MachineDetectionDuration: '2400' });

    expect(verdict.statusCode).toBe(200);
    expect(verdict.headers['content-type']).toContain('text/xml');
    expect(updatesOf(twilio, callSid)).toEqual([expect.objectContaining({ Status: 'completed' })]);
    expect(await holders(service)).not.toContain(jobId);
    expect((await getJob(service, jobId)).call).toMatchObject({ answeredBy: 'machine_start', answerAction: 'hangup', outcome: null });

    await sendStatusCallback(service, jobId, { CallSid: callSid, CallStatus: 'completed', CallDuration: '3', AnsweredBy: 'machine_start' });
    expect((await getJob(service, jobId)).call).toMatchObject({ status: 'completed', outcome: 'machine-hangup' });
  });

  it('a machine verdict with a voicemail policy redirects the live call to the voicemail', async ({ service, twilio }) => {
    await service.startWorker();
    const jobId = await schedule(service, aCall({ connect: 'agent', answeringMachine: { onMachine: 'voicemail', voicemailMessage: 'Sorry & goodbye <3' } }));
    const { callSid } = await placed(service, jobId);

    await sendTwilioWebhook(service, answerPath(jobId), { CallSid: callSid, AnsweredBy: 'machine_end_beep' });

    expect(updatesOf(twilio, callSid)).toEqual([expect.objectContaining({ Twiml: expect.stringContaining('<Say>Sorry &amp; goodbye &lt;3</Say><Hangup/>') })]);
    expect(await holders(service)).not.toContain(jobId);
    await sendStatusCallback(service, jobId, { CallSid: callSid, CallStatus: 'completed', CallDuration: '20' });
    expect((await getJob(service, jobId)).call).toMatchObject({ answerAction: 'voicemail', outcome: 'voicemail-left' });
  });

  it('asked once who answered, the answer webhook returns the TwiML of the policy, and the same answer when asked again', async ({ service }) => {
    await service.startWorker();
    const person = await schedule(service, aCall({ message: 'Your table is ready', answeringMachine: { onMachine: 'voicemail', voicemailMessage: 'Call us back' } }));
    const machine = await schedule(service, aCall({ to: '+14155550124', message: 'Your table is ready', answeringMachine: { onMachine: 'voicemail', voicemailMessage: 'Call us back' } }));
    const personSid = (await placed(service, person)).callSid;
    const machineSid = (await placed(service, machine)).callSid;

    const toPerson = await sendTwilioWebhook(service, answerPath(person), { CallSid: personSid, CallStatus: 'in-progress', AnsweredBy: 'human' });
    const toMachine = await sendTwilioWebhook(service, answerPath(machine), { CallSid: machineSid, CallStatus: 'in-progress', AnsweredBy: 'machine_end_beep' });
    const again = await sendTwilioWebhook(service, answerPath(machine), { CallSid: machineSid, CallStatus: 'in-progress', AnsweredBy: 'human' });

    expect(toPerson.body).toContain('<Say>Your table is ready</Say>');
    expect(toMachine.body).toContain('<Say>Call us back</Say><Hangup/>');
    expect(again.body).toBe(toMachine.body);
  });

  it('a forged answer webhook gets 403 and changes nothing: no hang-up, no slot freed, nothing recorded', async ({ service, twilio }) => {
    await service.startWorker();
    const jobId = await schedule(service, aCall({ connect: 'stream', answeringMachine: { onMachine: 'hangup' } }));
    const other = await schedule(service, aCall({ to: '+14155550125', connect: 'stream', answeringMachine: { onMachine: 'hangup' } }));
    const { callSid } = await placed(service, jobId);
    await placed(service, other);
    const params = { CallSid: callSid, AnsweredBy: 'machine_start' };
    const post = (path: string, signature: string) =>
      service.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, payload: new URLSearchParams(params).toString() });

    const forged = [
      await post(answerPath(jobId), signLikeTwilio('not-the-auth-token', `${PUBLIC_URL}${answerPath(jobId)}`, params)),
      // Signed for another job: the job id is part of what Twilio signs.
      await post(answerPath(jobId), signLikeTwilio(service.config.webhookAuthToken, `${PUBLIC_URL}${answerPath(other)}`, params)),
      await service.app.inject({ method: 'POST', url: answerPath(jobId), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() }),
    ];

    expect(forged.map((response) => response.statusCode)).toEqual([403, 403, 403]);
    expect(updatesOf(twilio, callSid)).toEqual([]);
    expect(await holders(service)).toContain(jobId);
    expect((await getJob(service, jobId)).call).toMatchObject({ answerAction: null, answeredBy: null });
  });

  it("answers the lead's context to the agent by CallSid, and 404 for a call it did not place", async ({ service }) => {
    await service.startWorker();
    const jobId = await schedule(service, aCall({ connect: 'agent', agentTarget: '+14155550999', lead_id: 'lead-5', metadata: { crm: { stage: 'won' } } }));
    const { callSid } = await placed(service, jobId);

    const context = await service.app.inject({ method: 'GET', url: `/api/calls/context/${callSid}` });
    const unknown = await service.app.inject({ method: 'GET', url: `/api/calls/context/CA${'f'.repeat(32)}` });

    expect(context.json()).toEqual({
      success: true,
      context: {
        callSid,
        jobId,
        leadId: 'lead-5',
        campaignId: null,
        message: 'Hello from Switchboard',
        metadata: { crm: { stage: 'won' } },
        to: '+14155550123',
        from: null,
        connect: 'agent',
        parameters: { job_id: jobId, lead_id: 'lead-5', message: 'Hello from Switchboard', 'metadata.crm.stage': 'won' },
      },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('CALL_NOT_FOUND');
  });
});

describe('a call that cannot be placed as asked is refused with 400, and nothing is queued', () => {
  it.for([
    ['agent mode with no agent configured', {}, { connect: 'agent' }, 'agentTarget'],
    ['stream mode with no stream URL configured', {}, { connect: 'stream' }, 'streamUrl'],
    ['an answering-machine policy without PUBLIC_URL', {}, { answeringMachine: { onMachine: 'voicemail' } }, 'answeringMachine'],
    ['a ws:// stream for Twilio', { AGENT_STREAM_URL: 'wss://agent.example.com/twilio' }, { connect: 'stream', streamUrl: 'ws://agent.example.com/twilio' }, 'streamUrl'],
    ['an agentTarget on a say call', { AGENT_DIAL_TARGET: '+14155550999' }, { connect: 'say', agentTarget: '+14155550998' }, 'agentTarget'],
    ['both machineDetection and answeringMachine', { PUBLIC_URL }, { machineDetection: 'Enable', answeringMachine: { onMachine: 'hangup' } }, 'machineDetection'],
  ] as const)('%s', async ([, env, body, field], { startTwilioService }) => {
    const service = await startTwilioService(env as Record<string, string>);
    const one = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall(body) });
    const bulk = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-bulk-calls', payload: { calls: [aCall(), aCall(body)] } });

    expect(one.statusCode).toBe(400);
    expect(one.json()).toMatchObject({ error: 'VALIDATION_ERROR', details: [expect.objectContaining({ field })] });
    expect(bulk.statusCode).toBe(400);
    expect(bulk.json().details).toEqual([expect.objectContaining({ field, index: 1 })]);
    expect(await service.queue.getJobCounts()).toMatchObject({ waiting: 0, prioritized: 0, delayed: 0 });
  });
});
