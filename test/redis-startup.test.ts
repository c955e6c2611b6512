import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../src/lib/redis-server.js';
import { maskRedisUrl } from '../src/lib/redis.js';
import { freePort } from './helpers/free-port.js';
import { testEnv } from './helpers/harness.js';
import { spawnEntry, type SpawnedProcess } from './helpers/spawn-process.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function spawned(file: string, env: Record<string, string>): SpawnedProcess {
  const child = spawnEntry(file, env);
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await child.exited;
  });
  return child;
}

const parsedLines = (child: SpawnedProcess) => child.lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('maskRedisUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(maskRedisUrl('rediss://default:s3cret@redis.example.com:6380/2')).toBe('rediss://default:***@redis.example.com:6380/2');
    expect(maskRedisUrl('redis://:s3cret@127.0.0.1:6379')).toBe('redis://:***@127.0.0.1:6379');
    expect(maskRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});

describe('with Redis unreachable at start', () => {
  it.each(['src/server.ts', 'workers/calls/main.ts', 'bin/start.ts'])('%s exits 1 after a short wait with one line naming the Redis and the fix', async (entry) => {
    const port = await freePort();
    const child = spawned(entry, testEnv({ REDIS_URL: `redis://:s3cret@127.0.0.1:${port}`, REDIS_STARTUP_WAIT_MS: '1000', LOG_LEVEL: 'info' }));
    expect(await child.exited).toBe(1);
    const output = child.lines.join('\n');
    expect(output).not.toContain('s3cret');
    expect(output).not.toMatch(/Unhandled error event|Connection is closed/);
    // Every line is a JSON log line; one of them says what went wrong and what to do.
    const fatal = parsedLines(child).filter((line) => line.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ redis: `redis://:***@127.0.0.1:${port}` });
    expect(fatal[0]!.msg).toMatch(new RegExp(`Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} did not answer within 1000 ms.*REDIS_URL`));
    expect(fatal[0]).not.toHaveProperty('err.stack');
  }, 20_000);
});

describe('a Redis outage while running', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-redis-startup-'));
  let redis: RedisServerHandle | undefined;
  afterEach(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is logged once when Redis goes, once when it is back, with no dump per retry', async () => {
    const redisPort = await freePort();
    redis = await startRedisServer({ port: redisPort, dir, persist: false });
    // The API and a worker in one process: every kind of connection the service opens.
    const child = spawned('bin/start.ts', testEnv({ REDIS_URL: redis.url, PORT: String(await freePort()), LOG_LEVEL: 'info' }));
    await child.waitForLog(/Switchboard is listening/);

    await redis.stop();
    await child.waitForLog(/Redis unreachable/);
    // An outage long enough for every connection to retry several times.
    await sleep(3_000);
    redis = await startRedisServer({ port: redisPort, dir, persist: false });
    await child.waitForLog(/Redis is back/);

    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    const lines = parsedLines(child);
    expect(lines.filter((line) => /Redis unreachable/.test(String(line.msg)))).toHaveLength(1);
    expect(lines.filter((line) => /Redis is back/.test(String(line.msg)))).toHaveLength(1);
    expect(lines.find((line) => /Redis unreachable/.test(String(line.msg)))).toMatchObject({ level: 40, redis: redis.url });
    // Nothing else about the outage: no error per retry.
    expect(lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
    expect(child.lines.join('\n')).not.toMatch(/Unhandled error event/);
  }, 40_000);
});
