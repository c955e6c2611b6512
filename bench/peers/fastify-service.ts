/**
 * The best a hand-written service does: Fastify with a JSON schema for the seed's body, and a
 * BullMQ `queue.add` per request with the seed's job options. REDIS_URL, PORT, PREFIX; prints
 * `ready` once it listens.
 */
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const PRIORITIES: Record<string, number> = { high: 1, normal: 2, low: 3 };
const connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
const queue = new Queue('calls', { connection, prefix: process.env.PREFIX ?? 'fastify-peer' });

const body = {
  type: 'object',
  required: ['to', 'message'],
  additionalProperties: false,
  properties: {
    to: { type: 'string', pattern: '^\\+[1-9]\\d{6,14}$' },
    message: { type: 'string', minLength: 1, maxLength: 1000 },
    from: { type: 'string', pattern: '^\\+[1-9]\\d{6,14}$' },
    lead_id: { type: 'string', maxLength: 200 },
    priority: { type: 'string', enum: ['high', 'normal', 'low'] },
    metadata: { type: 'object' },
  },
} as const;

type Body = { to: string; message: string; from?: string; lead_id?: string; priority?: string; metadata?: Record<string, unknown> };

const app = Fastify();
app.post<{ Body: Body }>('/api/queue/schedule-call', { schema: { body } }, async (request, reply) => {
  const { priority = 'normal', ...call } = request.body;
  const job = await queue.add('call', { ...call, priority }, { priority: PRIORITIES[priority], attempts: 3, backoff: { type: 'exponential', delay: 2000 } });
  return reply.code(201).send({ success: true, message: 'Call scheduled successfully', jobId: job.id, status: 'scheduled', data: job.data });
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
console.log('ready');
process.once('SIGTERM', () => void app.close().then(() => queue.close()).then(() => process.exit(0)));
