import type { Config } from '../src/config.js';
import type { Running } from '../src/lib/run-process.js';
import type { Logger } from '../src/logger.js';
import { startCallLogWorker } from './call-log/call-log-worker.js';
import { startCallWorker } from './calls/call-worker.js';
import { startEventDeliveryWorker } from './events/event-delivery-worker.js';
import { serveWorkerEndpoints } from './worker-endpoints.js';

/** Every worker a worker process runs: the call worker, event deliveries, and the call log's outbox when logging is on. */
export async function startWorkers(config: Readonly<Config>, logger: Logger): Promise<Running> {
  const calls = await startCallWorker(config, logger);
  const callLog = await startCallLogWorker(config, logger);
  const webhooks = await startEventDeliveryWorker(config, logger);
  let endpoints: { close(): Promise<void> } | undefined;
  if (config.WORKER_METRICS_PORT !== undefined) {
    endpoints = await serveWorkerEndpoints(config, calls.worker);
    logger.info(`worker metrics on http://${config.HOST}:${config.WORKER_METRICS_PORT}/metrics, health at /health`);
  }
  return {
    async close() {
      await endpoints?.close();
      // Calls first: the ones finishing still write their rows to the outbox.
      await calls.close();
      await Promise.all([callLog.close(), webhooks.close()]);
    },
  };
}
