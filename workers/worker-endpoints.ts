import { createServer } from 'node:http';
import { createRedis } from '../src/lib/redis.js';
import { healthProbeKey, redisAcceptsWrites } from '../src/lib/redis-write-probe.js';
import type { Config } from '../src/config.js';
import { processMetrics } from '../src/metrics.js';

type WorkerHealth = () => Promise<{ redis: 'up' | 'down'; worker: 'running' | 'stopped' }>;

/** The worker's own /metrics, for Prometheus to scrape beside the API's, and /health for probes. */
export async function serveWorkerEndpoints(config: Readonly<Config>, worker: { isRunning(): boolean }) {
  const { registry } = processMetrics();
  // A connection of its own that fails fast, so a probe is answered while Redis is away.
  const redis = createRedis(config.redis, 'producer', 'worker-health');
  redis.connect().catch(() => {});
  const health: WorkerHealth = async () => ({
    redis: (await redisAcceptsWrites(redis, healthProbeKey(config.QUEUE_PREFIX, 'worker'))) ? 'up' : 'down',
    worker: worker.isRunning() ? 'running' : 'stopped',
  });
  const server = createServer(async (request, response) => {
    if (request.url === '/metrics') {
      response.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    } else if (request.url === '/health') {
      const state = await health();
      const ok = state.redis === 'up' && state.worker === 'running';
      response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ success: ok, status: ok ? 'ok' : 'degraded', ...state }));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(config.WORKER_METRICS_PORT, config.HOST, resolve));
  return {
    server,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
