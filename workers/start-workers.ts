import { createServer, type Server } from 'node:http';
import type { Config } from '../src/config.js';
import { processMetrics } from '../src/metrics.js';
import type { Running } from '../src/lib/run-process.js';
import type { Logger } from '../src/logger.js';
import { startCallLogWorker } from './call-log/call-log-worker.js';
import { startCallWorker } from './calls/call-worker.js';

/** Every worker a worker process runs: the call worker, and the call log's outbox when logging is on. */
export async function startWorkers(config: Readonly<Config>, logger: Logger): Promise<Running> {
  const calls = await startCallWorker(config, logger);
  const callLog = await startCallLogWorker(config, logger);
  const metricsServer = config.WORKER_METRICS_PORT === undefined ? undefined : await serveMetrics(config.HOST, config.WORKER_METRICS_PORT);
  if (metricsServer) logger.info(`worker metrics on http://${config.HOST}:${config.WORKER_METRICS_PORT}/metrics`);
  return {
    async close() {
      await new Promise((resolve) => metricsServer?.close(resolve) ?? resolve(undefined));
      // Calls first: the ones finishing still write their rows to the outbox.
      await calls.close();
      await callLog.close();
    },
  };
}

/** The worker's own /metrics, for Prometheus to scrape beside the API's. */
async function serveMetrics(host: string, port: number): Promise<Server> {
  const { registry } = processMetrics();
  const server = createServer(async (request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}
