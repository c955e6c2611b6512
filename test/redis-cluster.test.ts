import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createCallRecordStore } from '../src/calls/call-record-store.js';
import { createCapacity } from '../src/capacity/create-capacity.js';
import { connectRedis, createRedis } from '../src/lib/redis.js';
import { until } from './helpers/callbacks.js';
import { aCall, startService, type Service } from './helpers/harness.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';
import { startRedisCluster, type ClusterNode, type RedisClusterHandle } from './helpers/redis-cluster.js';
import { createFakeCarrier, silentLogger } from './unit/fakes.js';
import type { SimulatedInboundCall as SimulatedCall } from '../src/carriers/simulated/simulated-inbound.js';


let cluster: RedisClusterHandle;
let service: Service;
let owner: ClusterNode;
let seed: ClusterNode;
const completed: Job[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  const prefix = `{cluster-${randomUUID().slice(0, 8)}}`;
  owner = await cluster.ownerOf(prefix);
  // Seeded only at another master: every key of the service lives on a node it must discover.
  seed = cluster.nodes.find((node) => node.role === 'master' && node.id !== owner.id)!;
  service = await startService({
    REDIS_MODE: 'cluster',
    REDIS_CLUSTER_NODES: seed.address,
    QUEUE_PREFIX: prefix,
    // One slot: a second caller must wait in the line the capacity scripts keep.
    MAX_CONCURRENT_CALLS: '1',
    SIMULATED_TIME_SCALE: '0.01',
    REDIAL_ON: 'none',
  });
  const worker = await service.startWorker();
  worker.on('completed', (job) => completed.push(job));
}, 90_000);

afterAll(async () => {
  await service?.stop();
  await cluster?.stop();
}, 60_000);

const post = async (url: string, payload: object) => service.app.inject({ method: 'POST', url, payload });
const getJob = async (jobId: string) => (await service.app.inject({ method: 'GET', url: `/api/queue/job/${jobId}` })).json();
const simulatedCalls = async (): Promise<SimulatedCall[]> => (await service.app.inject({ method: 'GET', url: '/simulator/inbound-calls' })).json().calls;
const simulatedCall = async (callSid: string) => (await simulatedCalls()).find((call) => call.callSid === callSid)!;

describe('the service on a Redis Cluster of 3 masters and 3 replicas, seeded at a node that does not own its hash tag', () => {
  it('the harness built the cluster it claims, and the seed is not the owner', () => {
    expect(cluster.nodes.filter((node) => node.role === 'master')).toHaveLength(3);
    expect(cluster.nodes.filter((node) => node.role === 'replica')).toHaveLength(3);
    expect(seed.id).not.toBe(owner.id);
  });

  it('answers a call only once a replica of the owning master holds it (WAIT on that master)', async () => {
    const ownerClient = new Redis(owner.port, '127.0.0.1');
    onTestFinished(() => ownerClient.disconnect());
    const waitsOnOwner = async () => Number(/^cmdstat_wait:calls=(\d+)/m.exec(await ownerClient.info('commandstats'))?.[1] ?? 0);
    const before = await waitsOnOwner();
    const response = await post('/api/queue/schedule-call', aCall({ to: '+14155550109' }));
    expect(response.statusCode).toBe(201);
    expect(await waitsOnOwner()).toBeGreaterThan(before);
  });

  it('answers /health and /ready with 200', async () => {
    for (const url of ['/health', '/ready']) {
      const response = await service.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
    }
  });

  it('dials calls scheduled now, delayed and in bulk, each exactly once, to completion', async () => {
    const now = await post('/api/queue/schedule-call', aCall({ to: '+14155550101' }));
    const delayed = await post('/api/queue/schedule-delayed-call', { ...aCall({ to: '+14155550102' }), delayMs: 300 });
    const bulk = await post('/api/queue/schedule-bulk-calls', { calls: Array.from({ length: 8 }, (_, index) => aCall({ to: `+1415555${2000 + index}` })) });
    expect([now.statusCode, delayed.statusCode, bulk.statusCode]).toEqual([201, 201, 201]);
    const jobIds: string[] = [now.json().jobId, delayed.json().jobId, ...(bulk.json().jobIds as string[])];
    expect(new Set(jobIds).size).toBe(10);

    const jobs = await until(
      () => Promise.all(jobIds.map(getJob)),
      (views) => views.every((job) => job.state === 'completed' && job.call?.final === true),
      30_000,
    );
    for (const job of jobs) {
      expect(job).toMatchObject({ state: 'completed', attemptsMade: 1, call: { status: 'completed' } });
      expect(job.call.timeline.filter((entry: { status: string }) => entry.status === 'queued')).toHaveLength(1);
    }
    // One placed call per job, and the worker completed each job once.
    expect(new Set(jobs.map((job) => job.callSid)).size).toBe(10);
    expect(Date.parse(jobs[1].processedAt)).toBeGreaterThanOrEqual(Date.parse(jobs[1].createdAt) + 300);
    expect(completed.filter((job) => jobIds.includes(job.id!)).map((job) => job.id).sort()).toEqual([...jobIds].sort());
  }, 45_000);

  it('runs a campaign to its end: contacts added, fed, dialed once each, counted, listed in its results, each change an event to a receiver', async () => {
    const created = await post('/api/campaigns', { name: 'on a cluster', message: 'Hello' });
    expect(created.statusCode).toBe(201);
    const id = created.json().campaign.id as string;
    const receiver = await startWebhookReceiver();
    onTestFinished(() => receiver.stop());
    const subscribed = await post('/api/webhooks', { url: receiver.url, campaignId: id, eventTypes: ['campaign.started', 'campaign.completed', 'call.completed'] });
    receiver.trust(subscribed.json().secret);
    await service.startEventWorker();
    const contacts = Array.from({ length: 6 }, (_, index) => ({ to: `+1415555${3000 + index}` }));
    expect((await post(`/api/campaigns/${id}/contacts`, { contacts })).json().added).toBe(6);
    expect((await post(`/api/campaigns/${id}/contacts`, { contacts })).json().added).toBe(0);
    expect((await post(`/api/campaigns/${id}/start`, {})).statusCode).toBe(200);
    const done = await until(async () => (await service.app.inject({ method: 'GET', url: `/api/campaigns/${id}` })).json().campaign, (campaign) => campaign.state === 'completed', 30_000);
    expect(done.progress).toMatchObject({ contacts: 6, attempts: 6, done: { total: 6, byOutcome: { completed: 6 } } });
    const results = (await service.app.inject({ method: 'GET', url: `/api/campaigns/${id}/results.csv` })).body.trim().split('\n');
    expect(results).toHaveLength(7);
    await receiver.waitFor(() => receiver.events.some((event) => event.type === 'campaign.completed'));
    expect(receiver.events.map((event) => event.type)).toEqual(['campaign.started', ...Array(6).fill('call.completed'), 'campaign.completed']);
    expect(new Set(receiver.events.filter((event) => event.type === 'call.completed').map((event) => event.data.to)).size).toBe(6);
  }, 45_000);

  it('holds a second caller in line while the only slot is taken, then connects them', async () => {
    const first = (await post('/simulator/inbound-calls', { from: '+14155553001', talkSeconds: 200 })).json().call as SimulatedCall;
    await until(() => simulatedCall(first.callSid), (call) => call.state === 'connected');
    const second = (await post('/simulator/inbound-calls', { from: '+14155553002', talkSeconds: 5 })).json().call as SimulatedCall;

    const waiting = await until(() => simulatedCall(second.callSid), (call) => call.state !== 'ringing');
    expect(waiting.state).toBe('waiting');
    const line = (await service.app.inject({ method: 'GET', url: '/api/capacity' })).json().capacity;
    expect(line).toMatchObject({ inUse: 1, waiting: 1 });

    const [firstEnded, secondEnded] = await until(
      () => Promise.all([simulatedCall(first.callSid), simulatedCall(second.callSid)]),
      (calls) => calls.every((call) => call.state === 'ended'),
      20_000,
    );
    expect(secondEnded.heard.some((heard) => heard.startsWith('You are currently number 1'))).toBe(true);
    expect(Date.parse(secondEnded.connectedAt!)).toBeGreaterThanOrEqual(Date.parse(firstEnded.endedAt!));
    // The carrier reports the end before the API has taken its status callback and freed the slot.
    const after = await until(
      async () => (await service.app.inject({ method: 'GET', url: '/api/capacity' })).json().capacity as { inUse: number; waiting: number },
      (capacity) => capacity.inUse === 0,
    );
    expect(after).toMatchObject({ inUse: 0, waiting: 0 });
  }, 45_000);

  // A missed event would leave waiting workers to their 2-s safety net: fail well before that.
  it('tells another process when a slot frees, over the cluster (capacity:events)', { timeout: 10_000 }, async () => {
    const redis = await connectRedis(createRedis(service.config.redis, 'producer', 'cluster-test'));
    onTestFinished(() => void redis.quit());
    const callRecords = createCallRecordStore(redis, service.config.QUEUE_PREFIX, 3600);
    const { capacity } = createCapacity(service.config, redis, { callQueue: service.queue, callRecords, dialer: createFakeCarrier(), logger: silentLogger });
    let heard!: () => void;
    const freed = new Promise<void>((resolve) => (heard = resolve));
    const subscription = await capacity.onSlotFreed(() => heard());
    onTestFinished(() => subscription.close());

    // The service's own call (bridged to the simulated agent, so it holds a slot) frees its slot when it ends.
    expect((await post('/api/queue/schedule-call', aCall({ to: '+14155550103', connect: 'agent' }))).statusCode).toBe(201);
    await freed;
  });
});
