import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CallLogTable } from '../../call-log/call-log-table.js';
import { AppError } from '../../errors.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';
import type { ContextLookup } from '../../connect/context-lookup.js';
import { callContextResponse, callsQuery, callsResponse, encodeCursor } from './calls.schemas.js';

/** Call history from the call log in Supabase (newest first, filtered, a page at a time), and the context of a live call. */
export const callsRoutes: FastifyPluginAsyncZod<{ callHistory: CallLogTable | undefined; callContext: ContextLookup }> = async (app, { callHistory, callContext }) => {
  app.get('/calls/context/:callSid', {
    schema: {
      operationId: 'getCallContext',
      summary: "The lead's context of an outbound call, by the CallSid the voice agent sees: for an agent reached at a plain number, or one whose context did not all fit",
      tags: ['calls'],
      params: z.object({ callSid: z.string().min(1).max(64) }),
      response: { 200: callContextResponse, 404: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      const context = await callContext(request.params.callSid);
      if (!context) throw new AppError(404, 'CALL_NOT_FOUND', `No outbound call with CallSid ${request.params.callSid} is known (calls are kept as long as their jobs)`);
      return { success: true as const, context };
    },
  });

  app.get('/calls', {
    schema: {
      operationId: 'listCalls',
      summary: 'Call history from the Supabase call log, newest first, with keyset pagination',
      tags: ['calls'],
      querystring: callsQuery,
      response: { 200: callsResponse, 404: errorBodySchema, 502: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      if (!callHistory) {
        throw new AppError(404, 'CALL_LOG_DISABLED', 'The call log is off: set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY to keep call history');
      }
      const { lead_id, status, outcome, to, since, until, limit, cursor } = request.query;
      let rows;
      try {
        rows = await callHistory.list({
          ...(lead_id !== undefined && { leadId: lead_id }),
          ...(status !== undefined && { status }),
          ...(outcome !== undefined && { outcome }),
          ...(to !== undefined && { to }),
          ...(since !== undefined && { since }),
          ...(until !== undefined && { until }),
          ...(cursor !== undefined && { after: cursor }),
          limit: limit + 1,
        });
      } catch (error) {
        request.log.error({ err: error }, 'call log query failed');
        throw new AppError(502, 'CALL_LOG_UNAVAILABLE', 'The call log (Supabase) did not answer; try again shortly');
      }
      const page = rows.slice(0, limit);
      return { success: true as const, calls: page, nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null };
    },
  });
};
