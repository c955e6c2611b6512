import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CallLogTable } from '../../call-log/call-log-table.js';
import { AppError } from '../../errors.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';
import { callsQuery, callsResponse, encodeCursor } from './calls.schemas.js';

/** Call history from the call log in Supabase: newest first, filtered, a page at a time. */
export const callsRoutes: FastifyPluginAsyncZod<{ callHistory: CallLogTable | undefined }> = async (app, { callHistory }) => {
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
      const { lead_id, status, to, since, until, limit, cursor } = request.query;
      let rows;
      try {
        rows = await callHistory.list({
          ...(lead_id !== undefined && { leadId: lead_id }),
          ...(status !== undefined && { status }),
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
