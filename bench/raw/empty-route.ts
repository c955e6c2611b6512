/**
 * The floor under any HTTP API on this machine: Fastify answering `POST /api/queue/schedule-call`
 * with a body like the service's, doing nothing else. Prints `ready` once it listens on PORT.
 */
import Fastify from 'fastify';

const app = Fastify();
app.post('/api/queue/schedule-call', async (request, reply) =>
  reply.code(201).send({ success: true, message: 'Call scheduled successfully', jobId: '1', status: 'scheduled', scheduledFor: new Date().toISOString(), data: request.body }),
);
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
console.log('ready');
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
