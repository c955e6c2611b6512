/**
 * The service a team would write from seed 002 by hand: Express and BullMQ, a `queue.add` per
 * request with the seed's job options (priority, 3 attempts, exponential backoff from 2 s), and the
 * little validation the seed shows. REDIS_URL, PORT, PREFIX; prints `ready` once it listens.
 */
import { Queue } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';

const PRIORITIES: Record<string, number> = { high: 1, normal: 2, low: 3 };
const connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
const queue = new Queue('calls', { connection, prefix: process.env.PREFIX ?? 'express-peer' });

const app = express();
app.use(express.json());
app.post('/api/queue/schedule-call', async (request, response) => {
  const { to, message, priority = 'normal', lead_id, metadata } = request.body ?? {};
  if (!to || !message) {
    response.status(400).json({ success: false, error: 'to and message are required' });
    return;
  }
  try {
    const job = await queue.add('call', { to, message, lead_id, metadata }, { priority: PRIORITIES[priority] ?? 2, attempts: 3, backoff: { type: 'exponential', delay: 2000 } });
    response.status(201).json({ success: true, message: 'Call scheduled successfully', jobId: job.id, status: 'scheduled', data: job.data });
  } catch (error) {
    response.status(500).json({ success: false, error: (error as Error).message });
  }
});

const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
process.once('SIGTERM', () => server.close(() => void queue.close().then(() => process.exit(0))));
