import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startRedisServer, type RedisServerHandle } from '../src/lib/redis-server.js';
import { freePort } from './helpers/free-port.js';
import { aCall, nextJobs, startService, type Service } from './helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-replicas-'));
const servers: RedisServerHandle[] = [];
const clients: Redis[] = [];
const services: Service[] = [];

async function server(name: string, args: string[] = []) {
  const handle = await startRedisServer({ port: await freePort(), dir: join(dir, name), persist: false, args });
  servers.push(handle);
  return handle;
}

function client(handle: RedisServerHandle) {
  const redis = new Redis(handle.url);
  clients.push(redis);
  return redis;
}

async function service(redis: RedisServerHandle, env: Record<string, string> = {}) {
  const started = await startService({ REDIS_URL: redis.url, ...env });
  services.push(started);
  return started;
}

/** How many WAIT commands this server has run. */
async function waitsRun(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(/^cmdstat_wait:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
}

let master: RedisServerHandle;
let replica: RedisServerHandle;
let lone: RedisServerHandle;
let onMaster: Redis;
let onReplica: Redis;

beforeAll(async () => {
  [master, lone] = await Promise.all([server('master'), server('lone')]);
  replica = await server('replica', ['--replicaof', '127.0.0.1', String(master.port)]);
  onMaster = client(master);
  onReplica = client(replica);
  // The replica is ready once it has loaded the master's data and the master counts it.
  for (;;) {
    const [ofReplica, ofMaster] = await Promise.all([onReplica.info('replication'), onMaster.info('replication')]);
    if (/master_link_status:up/.test(ofReplica) && /connected_slaves:1/.test(ofMaster)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

afterEach(async () => {
  await Promise.all(services.splice(0).map((started) => started.stop()));
});

afterAll(async () => {
  clients.forEach((redis) => redis.disconnect());
  for (const handle of servers.reverse()) await handle.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = (started: Service, url: string, payload: object, headers: Record<string, string> = {}) =>
  started.app.inject({ method: 'POST', url: `/api/queue/${url}`, payload, headers });

describe('job ids', () => {
  it('are made by the service, not by a Redis counter: two fresh queues never give out the same id', async () => {
    const [first, second] = await Promise.all([service(lone), service(lone)]);
    const idsOf = async (started: Service) => {
      const now = (await post(started, 'schedule-call', aCall())).json().jobId as string;
      const later = (await post(started, 'schedule-delayed-call', aCall({ delayMs: 60_000 }))).json().jobId as string;
      const bulk = (await post(started, 'schedule-bulk-calls', { calls: [aCall(), aCall()] })).json().jobIds as string[];
      return [now, later, ...bulk];
    };
    const ids = [...(await idsOf(first)), ...(await idsOf(second))];
    expect(new Set(ids).size).toBe(8);
    for (const id of ids) expect(id).toMatch(/^call-[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Time-ordered: their leading milliseconds never go back as one service's calls arrive.
    const stamps = ids.slice(0, 4).map((id) => id.slice(0, 18));
    expect(stamps).toEqual([...stamps].sort());
    const job = await first.app.inject({ method: 'GET', url: `/api/queue/job/${ids[0]}` });
    expect(job.statusCode).toBe(200);
  });
});

describe('with a replica', () => {
  it('answers 201 once the replica holds the call', async () => {
    const started = await service(master);
    const waitsBefore = await waitsRun(onMaster);
    const response = await post(started, 'schedule-call', aCall());
    expect(response.statusCode).toBe(201);
    const jobId = response.json().jobId as string;
    // Read from the replica right after the answer: no waiting for it to catch up.
    expect(await onReplica.hget(`${started.config.QUEUE_PREFIX}:calls:${jobId}`, 'name')).toBe('call');
    expect(await waitsRun(onMaster)).toBeGreaterThan(waitsBefore);
  });

  it('answers 503 with Retry-After when the replica cannot acknowledge in time, and the same Idempotency-Key then schedules the call once', async () => {
    const started = await service(master, { REDIS_WAIT_TIMEOUT_MS: '300' });
    await post(started, 'schedule-call', aCall()); // the service has seen the replica
    const pid = Number(/^process_id:(\d+)/m.exec(await onReplica.info('server'))![1]);
    const headers = { 'idempotency-key': 'replica-stopped' };
    process.kill(pid, 'SIGSTOP');
    let refused;
    try {
      refused = await post(started, 'schedule-call', aCall({ lead_id: 'L-1' }), headers);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.json()).toMatchObject({ success: false, error: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/^Nothing was confirmed: 0 of 1 Redis replicas/) });

    const retried = await post(started, 'schedule-call', aCall({ lead_id: 'L-1' }), headers);
    expect(retried.statusCode).toBe(201);
    const waiting = await started.queue.getJobs(['waiting', 'prioritized']);
    expect(waiting.filter((job) => job.data.lead_id === 'L-1').map((job) => job.id)).toEqual([retried.json().jobId]);
  });

  it('shares waits while the replica cannot acknowledge: concurrent requests do not queue one timeout each', async () => {
    const started = await service(master, { REDIS_WAIT_TIMEOUT_MS: '300' });
    await post(started, 'schedule-call', aCall());
    const pid = Number(/^process_id:(\d+)/m.exec(await onReplica.info('server'))![1]);
    const waitsBefore = await waitsRun(onMaster);
    process.kill(pid, 'SIGSTOP');
    let answers;
    try {
      answers = await Promise.all(Array.from({ length: 10 }, () => post(started, 'schedule-call', aCall())));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array(10).fill(503));
    expect(await waitsRun(onMaster)).toBeLessThanOrEqual(waitsBefore + 3);
  });

  it('has the worker wait for the replica after storing the dial marker and after storing the call SID', async () => {
    const started = await service(master);
    const worker = await started.startWorker();
    const completed = nextJobs(worker, 'completed', 1);
    const waitsBefore = await waitsRun(onMaster);
    const scheduled = await post(started, 'schedule-call', aCall());
    const [job] = await completed;
    expect(job!.id).toBe(scheduled.json().jobId);
    // One for the API's acknowledgement, one after the dial marker, one after the SID.
    expect(await waitsRun(onMaster)).toBeGreaterThanOrEqual(waitsBefore + 3);
    expect(await onReplica.hget(`${started.config.QUEUE_PREFIX}:calls:call-record:${job!.id}`, 'callSid')).toBe(job!.returnvalue.callSid);
  });
});

describe('with no replica', () => {
  it('answers 503 when REDIS_WAIT_REPLICAS asks for a replica the Redis does not have', async () => {
    const started = await service(lone, { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '200' });
    const response = await post(started, 'schedule-call', aCall());
    expect(response.statusCode).toBe(503);
    expect(response.json().message).toMatch(/^Nothing was confirmed: 0 of 1 Redis replicas acknowledged the write within 200 ms/);
  });

  it('never waits with REDIS_WAIT_REPLICAS=0, and refuses a negative count', async () => {
    const started = await service(master, { REDIS_WAIT_REPLICAS: '0' });
    const waitsBefore = await waitsRun(onMaster);
    expect((await post(started, 'schedule-call', aCall())).statusCode).toBe(201);
    expect(await waitsRun(onMaster)).toBe(waitsBefore);
    expect(() => loadConfig({ REDIS_WAIT_REPLICAS: '-1' })).toThrow(/REDIS_WAIT_REPLICAS/);
    expect(() => loadConfig({ REDIS_WAIT_TIMEOUT_MS: '0' })).toThrow(/REDIS_WAIT_TIMEOUT_MS/);
  });

  it('answers at once and sends no WAIT', async () => {
    const started = await service(lone);
    const onLone = client(lone);
    const waitsBefore = await waitsRun(onLone);
    expect((await post(started, 'schedule-call', aCall())).statusCode).toBe(201);
    expect((await post(started, 'schedule-bulk-calls', { calls: [aCall()] })).statusCode).toBe(201);
    expect(await waitsRun(onLone)).toBe(waitsBefore);
  });
});
