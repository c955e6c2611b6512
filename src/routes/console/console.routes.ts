import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ConsoleSnapshot } from '../../console/console-snapshot.js';
import { commonErrors } from '../shared/error.schemas.js';
import { consoleSessionSchema, consoleSnapshotSchema } from './console.schemas.js';

/** How often the stream sends a fresh snapshot. */
const STREAM_EVERY_MS = 2_000;

const tags = ['console'];

/** What the operator console reads: who is logged in, and the live state, once or as a stream. */
export const consoleRoutes: FastifyPluginAsyncZod<{ snapshot: ConsoleSnapshot }> = async (app, { snapshot }) => {
  // Streams never end by themselves: the API closing ends them, so a console left open never holds up a shutdown.
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });

  app.get('/console/session', {
    schema: { operationId: 'getConsoleSession', summary: 'Who this session (or key) is, and a CSRF token for its changes', tags, response: { 200: consoleSessionSchema, ...commonErrors } },
    handler: async (request, reply) => {
      const session = request.viaSession ? app.consoleSession.read(request) : undefined;
      return {
        success: true as const,
        role: request.isAdmin === undefined ? ('open' as const) : request.isAdmin ? ('admin' as const) : ('read' as const),
        expiresAt: session ? new Date(session.expiresAt).toISOString() : null,
        csrfToken: reply.generateCsrf(),
      };
    },
  });

  app.get('/console/snapshot', {
    schema: { operationId: 'getConsoleSnapshot', summary: 'The live state: capacity, the line, the queue, campaigns, recent calls, dials and outcomes by minute', tags, response: { 200: z.object({ success: z.literal(true), snapshot: consoleSnapshotSchema }), ...commonErrors } },
    handler: async () => ({ success: true as const, snapshot: await snapshot.read() }),
  });

  app.get('/console/stream', {
    schema: {
      operationId: 'streamConsoleSnapshots',
      summary: 'Server-Sent Events: a `snapshot` event (a ConsoleSnapshot as JSON) at once, then every 2 seconds',
      tags,
      response: { 200: z.string().describe('text/event-stream'), ...commonErrors },
    },
    handler: async (request, reply) => {
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      raw.write('retry: 2000\n\n');
      let sending = false;
      const send = async () => {
        if (sending || raw.destroyed) return;
        sending = true;
        try {
          raw.write(`event: snapshot\ndata: ${JSON.stringify(await snapshot.read())}\n\n`);
        } catch (error) {
          request.log.warn({ err: error }, 'console snapshot could not be read');
          raw.write(`event: problem\ndata: ${JSON.stringify({ message: 'The live state could not be read (is Redis reachable?); retrying' })}\n\n`);
        } finally {
          sending = false;
        }
      };
      const timer = setInterval(() => void send(), STREAM_EVERY_MS);
      const end = () => {
        clearInterval(timer);
        streams.delete(end);
        raw.end();
      };
      streams.add(end);
      request.raw.on('close', end);
      await send();
    },
  });
};
