import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import { until } from './helpers/callbacks.js';
import { it } from './helpers/fixtures.js';
import { aCall, startService, twilioEnv, type Service } from './helpers/harness.js';
import { startRedisCluster, type ClusterNode, type RedisClusterHandle } from './helpers/redis-cluster.js';
import type { TwilioStandIn } from './helpers/twilio-stand-in.js';

/** One scheduling request of the stream: what it asked for and how it was answered. */
interface Outcome {
  to: string;
  sentAt: number;
  /** The HTTP status, or what happened instead of an answer. */
  status: number | 'pending' | 'timeout' | 'error';
  jobId?: string;
}

const REQUEST_EVERY_MS = 60;
const REQUEST_TIMEOUT_MS = 10_000;

/** Schedules a call with a number of its own every REQUEST_EVERY_MS, over HTTP, each with a deadline. */
function streamCalls(service: Service) {
  const outcomes: Outcome[] = [];
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  const send = () => {
    const outcome: Outcome = { to: `+1415556${String(sent++).padStart(4, '0')}`, sentAt: performance.now(), status: 'pending' };
    outcomes.push(outcome);
    const request = (async () => {
      try {
        const response = await fetch(`${service.baseUrl}/api/queue/schedule-call`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(aCall({ to: outcome.to, message: 'Failover' })),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        outcome.status = response.status;
        if (response.status === 201) outcome.jobId = ((await response.json()) as { jobId: string }).jobId;
      } catch (error) {
        outcome.status = (error as Error).name === 'TimeoutError' ? 'timeout' : 'error';
      }
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };
  const timer = setInterval(send, REQUEST_EVERY_MS);
  return {
    outcomes,
    /** Stops sending and resolves once every request sent has its answer. */
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      return outcomes;
    },
  };
}

const answeredSince = (outcomes: Outcome[], since: number) => outcomes.filter((outcome) => outcome.sentAt >= since && outcome.status !== 'pending');

/**
 * A Redis Cluster of 3 masters and 3 replicas, the API and a worker dialing through the stand-in,
 * seeded at a master that does not own the service's hash tag; `switchOver` moves the tag's slot to
 * the owner's replica while calls are being scheduled. Checks what every failover must keep.
 */
async function scheduleThroughFailover(
  twilio: TwilioStandIn,
  switchOver: (cluster: RedisClusterHandle, owner: ClusterNode, replica: ClusterNode) => Promise<void>,
) {
  const cluster = await startRedisCluster(3);
  let service: Service | undefined;
  try {
    const prefix = `{failover-${randomUUID().slice(0, 8)}}`;
    const owner = await cluster.ownerOf(prefix);
    const replica = await cluster.replicaOf(owner);
    const seed = cluster.nodes.find((node) => node.role === 'master' && node.id !== owner.id)!;
    service = await startService({
      ...twilioEnv(twilio),
      REDIS_MODE: 'cluster',
      REDIS_CLUSTER_NODES: seed.address,
      QUEUE_PREFIX: prefix,
      STATUS_POLL_INTERVAL_MS: '600000',
      // A call its worker was finishing when the master died stays active until its lock lapses and
      // a look for stalled calls takes it over (0.5-1.1 times the lock): keep that inside the wait.
      CALL_LOCK_DURATION_MS: '5000',
    });
    await service.startWorker();

    const stream = streamCalls(service);
    // Calls flow before the switch: accepted and dialed.
    await until(async () => stream.outcomes.filter((outcome) => outcome.status === 201).length, (accepted) => accepted >= 15, 10_000);
    await switchOver(cluster, owner, replica);
    await cluster.promoted(replica);
    const promotedAt = performance.now();
    // And after it, for as long again.
    await until(async () => answeredSince(stream.outcomes, promotedAt).length, (answered) => answered >= 30, 15_000);
    const outcomes = await stream.stop();

    const statuses = outcomes.map((outcome) => outcome.status);
    expect(statuses.filter((status) => status !== 201 && status !== 503), 'answers other than 201 or 503').toEqual([]);
    // Recovered by itself: the last requests of the stream, and one sent now, are accepted.
    expect(statuses.slice(-10)).toEqual(Array(10).fill(201));
    expect((await service.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);

    const accepted = outcomes.filter((outcome) => outcome.status === 201);
    expect(new Set(accepted.map((outcome) => outcome.jobId)).size, 'job ids answered').toBe(accepted.length);
    await until(async () => accepted.filter((outcome) => twilio.createsTo(outcome.to).length === 0).map((outcome) => outcome.to), (undialed) => undialed.length === 0, 20_000);
    // Nothing left to run that could dial again.
    await until(() => service!.queue.getJobCounts('active', 'waiting', 'prioritized', 'delayed'), (counts) => Object.values(counts).every((count) => count === 0), 20_000);
    for (const outcome of accepted) expect(twilio.createsTo(outcome.to), outcome.to).toHaveLength(1);
    // A 503 may come after the call was stored: it may be dialed, but never twice.
    for (const outcome of outcomes) expect(twilio.createsTo(outcome.to).length, outcome.to).toBeLessThanOrEqual(1);
    const sidByNumber = new Map([...twilio.calls.values()].map((call) => [call.to, call.sid]));
    for (const outcome of accepted) {
      const job = (await service.app.inject({ method: 'GET', url: `/api/queue/job/${outcome.jobId}` })).json();
      expect(job.callSid, outcome.to).toBe(sidByNumber.get(outcome.to));
    }
    return { outcomes, unavailable: statuses.filter((status) => status === 503).length };
  } finally {
    await service?.stop();
    await cluster.stop();
  }
}

describe('the service on a Redis Cluster whose master of the hash tag fails over while calls are scheduled', () => {
  it('CLUSTER FAILOVER on its replica: only 201 or 503, every accepted call dialed once, no id twice, recovered', async ({ twilio }) => {
    const { outcomes, unavailable } = await scheduleThroughFailover(twilio, (cluster, _owner, replica) => cluster.failover(replica));
    expect(outcomes.length).toBeGreaterThanOrEqual(45);
    expect(unavailable).toBeLessThan(outcomes.length / 2);
  }, 60_000);

  it('SIGKILL of the master: only 201 or 503, every accepted call dialed once, no id twice, recovered', async ({ twilio }) => {
    const { outcomes } = await scheduleThroughFailover(twilio, (cluster, owner) => cluster.kill(owner));
    expect(outcomes.length).toBeGreaterThanOrEqual(45);
  }, 60_000);
});
