import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRedisServer } from '../../src/lib/redis-server.js';
import { freePort } from './free-port.js';
import { startPostgres, SUPABASE_ROLES_SQL, withDatabase } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
  }
}

/**
 * One private, throwaway redis-server and PostgreSQL cluster for the whole run, on free ports and
 * in temporary directories: never a developer's own Redis or database.
 */
export default async function setup(project: TestProject) {
  const redisDir = mkdtempSync(join(tmpdir(), 'switchboard-redis-'));
  const postgresDir = mkdtempSync(join(tmpdir(), 'switchboard-pg-'));
  const [redis, postgres] = await Promise.all([
    startRedisServer({ port: await freePort(), dir: redisDir, persist: false }),
    startPostgres(postgresDir, await freePort()),
  ]);
  await withDatabase(postgres.url, (client) => client.query(SUPABASE_ROLES_SQL));
  project.provide('redisUrl', redis.url);
  project.provide('postgresUrl', postgres.url);
  return async () => {
    await Promise.all([redis.stop(), postgres.stop()]);
    rmSync(redisDir, { recursive: true, force: true });
    rmSync(postgresDir, { recursive: true, force: true });
  };
}
