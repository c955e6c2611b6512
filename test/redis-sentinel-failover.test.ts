import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { until } from './helpers/callbacks.js';
import { it } from './helpers/fixtures.js';
import { startRedisSentinelGroup, type RedisSentinelGroup } from './helpers/redis-sentinel.js';

let group: RedisSentinelGroup;
beforeAll(async () => {
  group = await startRedisSentinelGroup();
}, 60_000);
afterAll(async () => {
  await group?.stop();
}, 30_000);

interface Answer {
  to: string;
  status: number | 'timeout' | 'error';
  jobId?: string;
  sentAt: number;
}

/**
 * Sends one call every `intervalMs`, each to a number of its own, never waiting for an answer before
 * the next, until `stop()`, which resolves with every answer once all are in; `answers` fills as they come.
 */
function streamCalls(baseUrl: string, intervalMs: number) {
  const answers: Answer[] = [];
  const pending: Array<Promise<void>> = [];
  let stopped = false;
  const sending = (async () => {
    for (let index = 0; !stopped; index += 1) {
      const to = `+1415556${String(index).padStart(4, '0')}`;
      const sentAt = Date.now();
      pending.push(
        fetch(`${baseUrl}/api/queue/schedule-call`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ to, message: 'Failover' }),
          signal: AbortSignal.timeout(5_000),
        }).then(
          async (response) => {
            const body = (await response.json()) as { jobId?: string };
            answers.push({ to, status: response.status, jobId: body.jobId, sentAt });
          },
          (error: Error) => {
            answers.push({ to, status: error.name === 'TimeoutError' ? 'timeout' : 'error', sentAt });
          },
        ),
      );
      await sleep(intervalMs);
    }
  })();
  return {
    answers,
    async stop() {
      stopped = true;
      await sending;
      await Promise.all(pending);
      return answers;
    },
  };
}

describe('a SENTINEL FAILOVER under a stream of scheduled calls', () => {
  it('answers only 201 or 503, dials every accepted call once, reuses no job id, and recovers on the new master', async ({ startTwilioService, twilio }) => {
    const service = await startTwilioService({
      REDIS_MODE: 'sentinel',
      REDIS_SENTINELS: group.sentinels,
      REDIS_SENTINEL_NAME: group.masterName,
      // As the README asks of a replicated deployment: a master cut off by the failover cannot confirm a call.
      REDIS_WAIT_REPLICAS: '1',
      STATUS_POLL_INTERVAL_MS: '600000',
      CALL_WORKER_CONCURRENCY: '20',
      LOG_LEVEL: 'silent',
    });
    await service.startWorker();
    expect(await group.currentMasterPort()).toBe(group.masterPort);

    const stream = streamCalls(service.baseUrl, 60);
    await sleep(2_000);
    const failedOverAt = Date.now();
    const newMasterPort = await group.failover();
    expect(newMasterPort).toBe(group.replicaPort);
    // Keeps the stream going until calls sent after the switch are accepted again, and a while after.
    // With one replica that takes until the Sentinels turn the old master into the new one's replica.
    await until(
      async () => stream.answers.filter((answer) => answer.status === 201 && answer.sentAt > failedOverAt + 1_000).length,
      (acceptedAfter) => acceptedAfter >= 10,
      30_000,
    );
    const answers = await stream.stop();
    const ready = await service.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);

    // Every request answered, and only 201 or 503.
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status !== 201 && status !== 503)).toEqual([]);
    const accepted = answers.filter((answer) => answer.status === 201);
    expect(accepted.length).toBeGreaterThan(0);

    // No job id handed out twice.
    const jobIds = accepted.map((answer) => answer.jobId!);
    expect(new Set(jobIds).size).toBe(jobIds.length);

    // Every accepted call reaches the carrier, once.
    await until(
      async () => accepted.filter((answer) => twilio.createsTo(answer.to).length === 0).length,
      (missing) => missing === 0,
      30_000,
    );
    const jobStates = await until(
      () => Promise.all(jobIds.map(async (jobId) => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json().state as string)),
      (states) => states.every((state) => state === 'completed'),
      30_000,
    );
    expect(jobStates.every((state) => state === 'completed')).toBe(true);
    for (const answer of accepted) expect(twilio.createsTo(answer.to), answer.to).toHaveLength(1);
    // A 503 promises nothing either way, but no number is dialed twice.
    for (const answer of answers) expect(twilio.createsTo(answer.to).length, answer.to).toBeLessThanOrEqual(1);

    // The service writes to the new master now, and the old one follows it.
    const after = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: { to: '+14155569999', message: 'After' } });
    expect(after.statusCode).toBe(201);
    const newMaster = new Redis(newMasterPort, '127.0.0.1');
    const oldMaster = new Redis(group.masterPort, '127.0.0.1');
    try {
      expect(await newMaster.exists(service.queue.toKey(after.json().jobId as string))).toBe(1);
      expect(await oldMaster.info('replication')).toMatch(new RegExp(`role:slave[\\s\\S]*master_port:${newMasterPort}`));
    } finally {
      newMaster.disconnect();
      oldMaster.disconnect();
    }
  }, 60_000);
});
