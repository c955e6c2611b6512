import { resolve } from 'node:path';
import { RedisBinaryMissingError, redisAnswers, startRedisServer } from '../src/lib/redis-server.js';
import { redisAtStart } from '../src/lib/redis-startup.js';
import { startApi } from '../src/api-runtime.js';
import type { Config } from '../src/config.js';
import { runProcess, StartupFailure } from '../src/lib/run-process.js';
import type { Logger } from '../src/logger.js';
import { startWorkers } from '../workers/start-workers.js';

const DEFAULT_REDIS_PORT = 6379;

/**
 * With no REDIS_URL, use the Redis on 127.0.0.1:6379, or start a private one (AOF on, data under
 * .data/redis) so that `npm start` works on a machine with nothing but the redis-server binary.
 */
async function ensureRedis(config: Readonly<Config>, logger: Logger) {
  if (!config.redisUrlDefaulted || (await redisAnswers('127.0.0.1', DEFAULT_REDIS_PORT))) {
    return { url: config.redisUrl, stop: async () => {} };
  }
  const dir = resolve('.data/redis');
  try {
    const server = await startRedisServer({ port: DEFAULT_REDIS_PORT, dir, persist: true });
    logger.warn({ url: server.url, dir }, 'No Redis was running, so a private redis-server was started (append-only file on); it stops with this process');
    return server;
  } catch (error) {
    if (error instanceof RedisBinaryMissingError) {
      throw new StartupFailure('No Redis answers on 127.0.0.1:6379 and redis-server is not installed: install Redis (e.g. `sudo apt-get install redis-server`) or set REDIS_URL.');
    }
    throw error;
  }
}

/** The embedded default: the API and one call worker in one process. */
await runProcess('switchboard', async (config, logger) => {
  const redis = await ensureRedis(config, logger);
  const runtimeConfig = Object.freeze({ ...config, redisUrl: redis.url, redis: config.redisUrlDefaulted ? { ...config.redis, url: redis.url } : config.redis });
  await redisAtStart(runtimeConfig, logger);
  const worker = await startWorkers(runtimeConfig, logger);
  const api = await startApi(runtimeConfig, logger);
  logger.info(`Switchboard is listening on http://${config.HOST}:${config.PORT} (API docs at /docs)`);
  return {
    async close() {
      // The worker first: calls it is finishing still report their outcomes to this API.
      await worker.close();
      await api.close();
      await redis.stop();
    },
  };
});
