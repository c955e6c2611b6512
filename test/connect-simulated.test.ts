import twilio from 'twilio';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentStreamServer, type AgentStreamServer } from './helpers/agent-stream-server.js';
import { until } from './helpers/callbacks.js';
import { aCall, startService, testEnv, type Service } from './helpers/harness.js';
import { freePort } from './helpers/free-port.js';
import { spawnEntry } from './helpers/spawn-process.js';

/** Simulated calls 25 times faster than real time: a person talks to the agent for 320 ms. */
const FAST = { SIMULATED_TIME_SCALE: '0.04', SIMULATED_DIAL_LATENCY_MS: '0', REDIAL_ON: 'none' };

let service: Service;
let agent: AgentStreamServer;
beforeAll(async () => {
  agent = await startAgentStreamServer();
  service = await startService(FAST);
  await service.startWorker();
});
afterAll(async () => {
  await service.stop();
  await agent.close();
});

const schedule = async (target: Service, payload: object) => {
  const response = await target.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().jobId as string;
};
const getJob = async (target: Service, jobId: string) => (await target.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();
const ended = (target: Service, jobId: string) => until(() => getJob(target, jobId), (job) => job.call.final === true || job.state === 'failed');
const agentSessions = async () => (await service.app.inject({ method: 'GET', url: '/simulator/agent/sessions' })).json().sessions as Array<Record<string, unknown>>;
const outcomesCounted = async (outcome: string) => {
  const families = parsePrometheusTextFormat((await service.app.inject({ method: 'GET', url: '/metrics' })).body) as Array<{ name: string; metrics: Array<{ labels?: Record<string, string>; value: string }> }>;
  const family = families.find((candidate) => candidate.name === 'switchboard_call_outcomes_total');
  return Number(family?.metrics.find((metric) => metric.labels?.outcome === outcome)?.value ?? 0);
};

describe('a stream call with the simulated carrier', () => {
  it("opens a Media Streams session to the agent's URL, signed as Twilio signs it, whose start carries the lead's context", async () => {
    const message = 'Greet <them> & confirm "Tuesday"';
    const jobId = await schedule(service, aCall({ connect: 'stream', streamUrl: agent.url, lead_id: 'lead-7', message, metadata: { campaign: 'Q4', crm: { stage: 'new', tags: ['warm'] } } }));
    const job = await ended(service, jobId);

    expect(job.call).toMatchObject({ status: 'completed', outcome: 'completed' });
    const stream = agent.streams.find((candidate) => candidate.messages.some((m) => m.event === 'start' && (m.start as { callSid: string }).callSid === job.callSid))!;
    expect(stream.closed).toBe(true);
    const events = stream.messages.map((m) => m.event);
    expect(events[0]).toBe('connected');
    expect(events[1]).toBe('start');
    expect(events.at(-1)).toBe('stop');
    expect(events.filter((event) => event === 'media').length).toBeGreaterThan(0);
    expect(twilio.validateRequest(service.config.webhookAuthToken, stream.signature ?? '', stream.url, {})).toBe(true);
    expect(agent.startOf(job.callSid)!.start).toMatchObject({
      callSid: job.callSid,
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      customParameters: { job_id: jobId, lead_id: 'lead-7', message, 'metadata.campaign': 'Q4', 'metadata.crm.stage': 'new', 'metadata.crm.tags.0': 'warm' },
    });
  });

  it('reaches the built-in simulated agent with no agent configured; it records the context and reports the end of the call', async () => {
    const jobId = await schedule(service, aCall({ connect: 'stream', lead_id: 'lead-8' }));
    const job = await ended(service, jobId);
    const session = await until(agentSessions, (sessions) => sessions.some((s) => s.callSid === job.callSid && s.endOfCallReport !== null));
    expect(session.find((s) => s.callSid === job.callSid)).toMatchObject({
      connectedBy: 'stream',
      parameters: { job_id: jobId, lead_id: 'lead-8', message: 'Hello from Switchboard' },
      endOfCallReport: 'sent',
      endedAt: expect.any(String),
    });
  });

  it('bridges an agent call to the simulated agent with the context as SIP X- headers', async () => {
    const jobId = await schedule(service, aCall({ connect: 'agent', lead_id: 'lead-9', metadata: { campaign: 'Q4' } }));
    const job = await ended(service, jobId);
    const sessions = await until(agentSessions, (all) => all.some((s) => s.callSid === job.callSid && s.endOfCallReport !== null));
    expect(sessions.find((s) => s.callSid === job.callSid)).toMatchObject({
      connectedBy: 'dial',
      parameters: { job_id: jobId, lead_id: 'lead-9', message: 'Hello from Switchboard', 'metadata.campaign': 'Q4' },
      endOfCallReport: 'sent',
    });
    const context = await service.app.inject({ method: 'GET', url: `/api/calls/context/${job.callSid}` });
    expect(context.json().context).toMatchObject({ callSid: job.callSid, jobId, leadId: 'lead-9', metadata: { campaign: 'Q4' }, connect: 'agent' });
  });
});

describe('answering machines', () => {
  it('leaves a voicemail after the beep and redials a machine only when the policy names it', async () => {
    const before = await outcomesCounted('voicemail-left');
    const policy = { onHuman: 'connect', onMachine: 'voicemail', voicemailMessage: 'Sorry we missed you.' };
    const redialed = await schedule(service, aCall({ to: '+14155559005', connect: 'stream', streamUrl: agent.url, answeringMachine: policy, redial: { on: ['machine'], max: 1, delayMs: 600_000 } }));
    const notRedialed = await schedule(service, aCall({ to: '+14155569005', connect: 'stream', streamUrl: agent.url, answeringMachine: policy, redial: { on: ['busy'] } }));

    const first = await until(() => getJob(service, redialed), (job) => job.call.final && job.call.redialJobId !== null);
    const second = await ended(service, notRedialed);

    for (const job of [first, second]) expect(job.call).toMatchObject({ status: 'completed', answeredBy: 'machine_end_beep', answerAction: 'voicemail', outcome: 'voicemail-left' });
    expect((await getJob(service, first.call.redialJobId)).data).toMatchObject({ redialOf: redialed, redialNumber: 1, answeringMachine: policy });
    expect(second.call.redialJobId).toBeNull();
    expect(await outcomesCounted('voicemail-left')).toBe(before + 2);
  });

  it('hangs up on a machine: machine-hangup, its stream stopped when the machine was known', async () => {
    const jobId = await schedule(service, aCall({ to: '+14155579005', connect: 'stream', streamUrl: agent.url, answeringMachine: { onMachine: 'hangup' } }));
    const job = await ended(service, jobId);
    expect(job.call).toMatchObject({ answeredBy: 'machine_start', answerAction: 'hangup', outcome: 'machine-hangup', redialJobId: null });
    // Hung up on when the machine was known (2.5 s in), not after the 8 s a person would have talked.
    expect(job.call.durationSeconds).toBeLessThan(8);
    expect(agent.startOf(job.callSid)).toBeDefined();
  });

  it('connects a person, a fax is hung up on, and silence counts as a person', async () => {
    const policy = { onMachine: 'hangup' };
    const [person, fax, silence] = await Promise.all(
      ['+14155550123', '+14155559007', '+14155559008'].map((to) => schedule(service, aCall({ to, connect: 'stream', streamUrl: agent.url, answeringMachine: policy }))),
    );
    expect((await ended(service, person!)).call).toMatchObject({ answeredBy: 'human', answerAction: 'connect', outcome: 'completed' });
    expect((await ended(service, fax!)).call).toMatchObject({ answeredBy: 'fax', answerAction: 'hangup', outcome: 'machine-hangup' });
    expect((await ended(service, silence!)).call).toMatchObject({ answeredBy: 'unknown', answerAction: 'connect', outcome: 'completed' });
  });

  it('a say call asks the answer webhook once who answered is known: the message for a person, the voicemail for a machine', async () => {
    const policy = { onHuman: 'connect', onMachine: 'voicemail' };
    const person = await ended(service, await schedule(service, aCall({ connect: 'say', answeringMachine: policy })));
    const machine = await ended(service, await schedule(service, aCall({ to: '+14155589005', connect: 'say', answeringMachine: policy })));
    expect(person.call).toMatchObject({ answeredBy: 'human', answerAction: 'connect', outcome: 'completed' });
    expect(machine.call).toMatchObject({ answeredBy: 'machine_end_beep', answerAction: 'voicemail', outcome: 'voicemail-left' });
  });
});

describe('live-call slots are the agent’s', () => {
  it('a say call never occupies a slot: it is dialed and completes while the only slot is held', async () => {
    const busy = await startService({ ...FAST, MAX_CONCURRENT_CALLS: '1' });
    try {
      await busy.startWorker();
      // A simulated caller dials in and talks to the agent for ten virtual minutes: the only slot is theirs.
      const inbound = await busy.app.inject({ method: 'POST', url: '/simulator/inbound-calls', payload: { from: '+14155550111', talkSeconds: 600 } });
      expect(inbound.statusCode).toBe(201);
      const capacity = async () => (await busy.app.inject({ method: 'GET', url: '/api/capacity' })).json();
      await until(capacity, (body) => body.capacity.free === 0);

      const jobId = await schedule(busy, aCall({ connect: 'say' }));
      const seen: string[] = [];
      const job = await until(
        async () => {
          const [view, slots] = await Promise.all([getJob(busy, jobId), capacity()]);
          seen.push(...slots.holders.map((holder: { kind: string }) => holder.kind));
          return view;
        },
        (view) => view.call.final,
      );
      expect(job.call).toMatchObject({ status: 'completed', outcome: 'completed' });
      expect(new Set(seen)).toEqual(new Set(['inbound']));
    } finally {
      await busy.stop();
    }
  });

  it('with a cap of 2, ten stream calls: never more than 2 connected to the agent at once, and all ten complete', async () => {
    const capped = await startService({ ...FAST, MAX_CONCURRENT_CALLS: '2', CALL_WORKER_CONCURRENCY: '10' });
    const own = await startAgentStreamServer();
    try {
      await capped.startWorker();
      const response = await capped.app.inject({
        method: 'POST',
        url: '/api/queue/schedule-bulk-calls',
        payload: { calls: Array.from({ length: 10 }, (_, index) => aCall({ to: `+1415555${1000 + index}`, connect: 'stream', streamUrl: own.url, lead_id: `lead-${index}` })) },
      });
      expect(response.statusCode).toBe(201);
      const jobIds = response.json().jobIds as string[];
      const jobs = await Promise.all(jobIds.map((jobId) => ended(capped, jobId)));

      expect(jobs.map((job) => job.call.outcome)).toEqual(Array(10).fill('completed'));
      expect(own.streams).toHaveLength(10);
      expect(own.mostOpen()).toBe(2);
      const leads = jobs.map((job) => own.startOf(job.callSid)?.start.customParameters.lead_id).sort();
      expect(leads).toEqual(Array.from({ length: 10 }, (_, index) => `lead-${index}`).sort());
    } finally {
      await capped.stop();
      await own.close();
    }
  });
});

describe('the API and a worker in processes of their own', () => {
  it("a machine known after the agent started is hung up on in the worker's process, which plays the call", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // Ten times faster only: the verdict crosses processes and Redis, well within the 8 s a person would talk.
    const env = testEnv({ ...FAST, SIMULATED_TIME_SCALE: '0.1', PORT: String(port), LOG_LEVEL: 'info' });
    const api = spawnEntry('src/server.ts', env);
    const worker = spawnEntry('workers/calls/main.ts', env);
    try {
      await Promise.all([api.waitForLog(/Server listening/), worker.waitForLog(/call worker started/)]);
      const response = await fetch(`${base}/api/queue/schedule-call`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(aCall({ to: '+14155599005', connect: 'stream', streamUrl: agent.url, answeringMachine: { onMachine: 'hangup' } })),
      });
      const { jobId } = (await response.json()) as { jobId: string };
      const job = await until(async () => (await (await fetch(`${base}/api/queue/job/${jobId}`)).json()) as { callSid: string; call: { final: boolean; outcome: string; durationSeconds: number } }, (view) => view.call.final);

      expect(job.call.outcome).toBe('machine-hangup');
      // Hung up at the machine's greeting (2.5 s in), not after the 8 s a person talks.
      expect(job.call.durationSeconds).toBeLessThan(8);
      const stream = agent.streams.find((candidate) => candidate.messages.some((m) => m.event === 'start' && (m.start as { callSid: string }).callSid === job.callSid));
      expect(stream?.messages.at(-1)?.event).toBe('stop');
    } finally {
      for (const child of [api, worker]) {
        child.kill('SIGTERM');
        await child.exited;
      }
    }
  });
});
