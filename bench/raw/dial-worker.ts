/** Raw BullMQ's dialing worker process. Environment: REDIS_URL, TWILIO_API_BASE_URL, CONCURRENCY. */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { RAW_PREFIX, RAW_QUEUE_NAME } from '../support/context.js';
import { rawDial } from './dial.js';

const connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
const worker = new Worker(RAW_QUEUE_NAME, rawDial(process.env.TWILIO_API_BASE_URL!), { connection, prefix: RAW_PREFIX, concurrency: Number(process.env.CONCURRENCY) });
await worker.waitUntilReady();
console.log('ready');
process.once('SIGTERM', async () => {
  await worker.close();
  connection.disconnect();
  process.exit(0);
});
