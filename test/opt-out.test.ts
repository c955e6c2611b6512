import { describe, expect } from 'vitest';
import { signLikeTwilio } from '../src/carriers/twilio/twilio-signature.js';
import { sendTwilioWebhook, until } from './helpers/callbacks.js';
import { it } from './helpers/fixtures.js';
import { aCall, type Service } from './helpers/harness.js';

const getJob = async (service: Service, jobId: string) => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();
const schedule = async (service: Service, url: string, payload: object) => {
  const response = await service.app.inject({ method: 'POST', url, payload });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().jobId as string;
};
const dncEntry = async (service: Service, number: string) => service.app.inject({ method: 'GET', url: `/api/dnc/${number}` });

describe('in-call opt-out: "press 9 to stop these calls"', () => {
  it('a person who presses the key is put on the do-not-call list, hears the confirmation, and is never called again', async ({ startService }) => {
    const service = await startService({ OPT_OUT_DIGIT: '9', SIMULATED_TIME_SCALE: '0.01', REDIAL_ON: 'none' });
    await service.startWorker();
    const later = await schedule(service, '/api/queue/schedule-delayed-call', aCall({ to: '+14155559009', delayMs: 2_500 }));
    const first = await schedule(service, '/api/queue/schedule-call', aCall({ to: '+14155559009' }));
    const other = await schedule(service, '/api/queue/schedule-call', aCall({ to: '+14155550123' }));

    expect((await until(() => getJob(service, first), (job) => job.call.final)).call.outcome).toBe('completed');
    const entry = (await until(() => dncEntry(service, '+14155559009'), (response) => response.statusCode === 200)).json().entry;
    expect(entry).toMatchObject({ key: '+14155559009', source: 'keypress', reason: expect.stringContaining(first) });
    const blocked = await until(() => getJob(service, later), (job) => job.state === 'failed');
    expect(blocked).toMatchObject({ callSid: null, gate: { decision: 'refuse', reason: 'dnc' } });
    // Someone who listens without pressing anything stays callable.
    expect((await until(() => getJob(service, other), (job) => job.call.final)).call.outcome).toBe('completed');
    expect((await dncEntry(service, '+14155550123')).statusCode).toBe(404);
  });

  it('through Twilio: the offer is a <Gather> around the message; the signed keypress lists the number, a forged one changes nothing', async ({ startTwilioService, twilio }) => {
    const PUBLIC_URL = 'https://switchboard.example.com';
    const service = await startTwilioService({ PUBLIC_URL, OPT_OUT_DIGIT: '9', OPT_OUT_PROMPT: 'Press 9 & we stop.' });
    await service.startWorker();
    const jobId = await schedule(service, '/api/queue/schedule-call', aCall({ message: 'Your table is ready' }));
    await until(() => getJob(service, jobId), (job) => job.callSid !== null);
    const path = `/webhooks/twilio/opt-out?jobId=${encodeURIComponent(jobId)}`;
    expect(twilio.creates[0]!.params.Twiml).toContain(
      `<Gather numDigits="1" action="${PUBLIC_URL}${path}" method="POST" timeout="3" actionOnEmptyResult="false"><Say>Your table is ready</Say><Say>Press 9 &amp; we stop.</Say></Gather>`,
    );

    const forged = await service.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signLikeTwilio('wrong-token', `${PUBLIC_URL}${path}`, { Digits: '9' }) },
      payload: 'Digits=9',
    });
    expect(forged.statusCode).toBe(403);
    expect((await dncEntry(service, '+14155550123')).statusCode).toBe(404);

    const otherKey = await sendTwilioWebhook(service, path, { Digits: '1' });
    expect(otherKey.body).toContain('<Hangup/>');
    expect((await dncEntry(service, '+14155550123')).statusCode).toBe(404);

    const pressed = await sendTwilioWebhook(service, path, { Digits: '9' });
    expect(pressed.body).toContain('<Say>You will not be called again. Goodbye.</Say><Hangup/>');
    expect((await dncEntry(service, '+14155550123')).json().entry).toMatchObject({ source: 'keypress' });

    // A call whose job is gone (removed, or trimmed once finished): the number Twilio signs is listed.
    const gonePath = '/webhooks/twilio/opt-out?jobId=call-gone';
    const gone = await sendTwilioWebhook(service, gonePath, { Digits: '9', To: '+14155550124' });
    expect(gone.body).toContain('You will not be called again');
    expect((await dncEntry(service, '+14155550124')).json().entry).toMatchObject({ source: 'keypress', reason: expect.stringContaining('call-gone') });
    // With no number at all, nobody is told they will not be called: the call just ends.
    const unknown = await sendTwilioWebhook(service, '/webhooks/twilio/opt-out?jobId=call-unknown', { Digits: '9' });
    expect(unknown.body).not.toContain('You will not be called again');
  });

  it('refuses a message too long to be said with the offer within 4,000 characters of TwiML', async ({ startService }) => {
    const service = await startService({ OPT_OUT_DIGIT: '9' });
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ message: 'word '.repeat(780).trim() }) });
    expect(response.statusCode).toBe(400);
    expect(response.json().details).toEqual([expect.objectContaining({ field: 'message', message: expect.stringContaining('opt-out') })]);
  });
});
