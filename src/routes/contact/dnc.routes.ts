import type { Readable } from 'node:stream';
import { CsvError } from 'csv-parse';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { dncKey, MissingNumberColumn, type DncList } from '../../contact/dnc-list.js';
import { AppError, validationError } from '../../errors.js';
import { isoTimeInputSchema, isoTimeSchema } from '../shared/common.schemas.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';

const tags = ['do-not-call'];

const keyParams = z.object({
  number: z
    .string()
    .max(32)
    .transform((value, ctx) => {
      const key = dncKey(value);
      if (typeof key !== 'string') {
        ctx.addIssue({ code: 'custom', message: key.problem });
        return z.NEVER;
      }
      return key;
    })
    .describe('A number (E.164, normalised) or a prefix ending in * (+1415*: an area code; +44*: a country)'),
});

const entrySchema = z
  .object({
    key: z.string().describe('The number, or the prefix ending in *'),
    reason: z.string().nullable(),
    source: z.string().describe('api, import, keypress…'),
    addedAt: isoTimeSchema,
    expiresAt: isoTimeSchema.nullable().describe('After this the entry no longer blocks; null: never'),
  })
  .meta({ id: 'DoNotCallEntry' });

const entryBody = z.strictObject({
  reason: z.string().trim().max(500).optional(),
  expiresAt: isoTimeInputSchema
    .refine((value) => Date.parse(value) > Date.now(), 'expiresAt has passed')
    .optional()
    .describe('When the entry stops blocking (ISO-8601, in the future); never when absent. An entry already there is never weakened: no expiry, or the later one, wins'),
});

const importJson = z.strictObject({
  entries: z
    .array(z.strictObject({ number: z.string().max(32), reason: z.string().max(500).optional(), expiresAt: z.string().max(64).optional() }))
    .min(1)
    .max(100_000),
  source: z.string().trim().min(1).max(64).optional(),
});

const importResult = z.object({
  success: z.literal(true),
  imported: z.number().int().describe('Entries written, new or replacing one already there'),
  added: z.number().int().describe('Of those, new to the list'),
  rejectedCount: z.number().int(),
  rejected: z.array(z.object({ line: z.number().int(), reason: z.string() })).describe('The first 100 lines (CSV) or items (JSON, from 1) not taken, and why'),
});

/** The do-not-call list: numbers and prefixes that are never dialed. Reading takes a key; changes take an admin key. */
export const dncRoutes: FastifyPluginAsyncZod<{ dnc: DncList }> = async (app, { dnc }) => {
  // A CSV upload is read as it arrives, never held whole.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) => done(null, payload));

  app.get('/dnc', {
    schema: {
      operationId: 'listDoNotCall',
      summary: 'The do-not-call list, a page at a time (pass nextCursor as cursor)',
      tags,
      querystring: z.object({ cursor: z.string().regex(/^\d+$/).max(20).default('0'), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: { 200: z.object({ success: z.literal(true), entries: z.array(entrySchema), nextCursor: z.string().nullable(), total: z.number().int() }), ...commonErrors },
    },
    handler: async (request) => {
      const [{ entries, cursor }, total] = await Promise.all([dnc.list(request.query.cursor, request.query.limit), dnc.count()]);
      return { success: true as const, entries, nextCursor: cursor === '0' ? null : cursor, total };
    },
  });

  app.get('/dnc/:number', {
    schema: { operationId: 'getDoNotCall', summary: 'One entry of the do-not-call list', tags, params: keyParams, response: { 200: z.object({ success: z.literal(true), entry: entrySchema }), 404: errorBodySchema, ...commonErrors } },
    handler: async (request) => {
      const entry = await dnc.get(request.params.number);
      if (!entry) throw new AppError(404, 'DNC_NOT_FOUND', `${request.params.number} is not on the do-not-call list`);
      return { success: true as const, entry };
    },
  });

  app.put('/dnc/:number', {
    config: { auth: 'admin' },
    schema: { operationId: 'putDoNotCall', summary: 'Put a number or prefix on the do-not-call list: it is never dialed, pending calls and redials included', tags, params: keyParams, body: entryBody, response: { 200: z.object({ success: z.literal(true), entry: entrySchema }), ...commonErrors } },
    handler: async (request) => ({ success: true as const, entry: await dnc.put(request.params.number, request.body) }),
  });

  app.delete('/dnc/:number', {
    config: { auth: 'admin' },
    schema: { operationId: 'deleteDoNotCall', summary: 'Take a number or prefix off the do-not-call list', tags, params: keyParams, response: { 200: z.object({ success: z.literal(true), key: z.string() }), 404: errorBodySchema, ...commonErrors } },
    handler: async (request) => {
      if (!(await dnc.remove(request.params.number))) throw new AppError(404, 'DNC_NOT_FOUND', `${request.params.number} is not on the do-not-call list`);
      return { success: true as const, key: request.params.number };
    },
  });

  app.post('/dnc/import', {
    config: { auth: 'admin', requestContent: { 'application/json': importJson, 'text/csv': z.string().describe('CSV with a header row: number (or phone), and optionally reason and expiresAt') } },
    schema: {
      operationId: 'importDoNotCall',
      summary: 'Add many entries: a CSV upload (text/csv, streamed: a header row naming number, and optionally reason and expiresAt) or a JSON list; bad lines are reported and skipped',
      tags,
      querystring: z.object({ source: z.string().trim().min(1).max(64).default('import').describe('The source the entries are recorded with (CSV; JSON bodies may name it)') }),
      response: { 200: importResult, ...commonErrors },
    },
    handler: async (request) => {
      if (!request.headers['content-type']?.includes('json')) {
        try {
          return { success: true as const, ...(await dnc.importCsv(request.body as Readable, request.query.source)) };
        } catch (error) {
          if (error instanceof CsvError || error instanceof MissingNumberColumn || (error as { cause?: unknown }).cause instanceof MissingNumberColumn) {
            throw new AppError(400, 'INVALID_CSV', `The CSV could not be read: ${error instanceof Error ? error.message : String(error)}`);
          }
          throw error;
        }
      }
      const parsed = importJson.safeParse(request.body);
      if (!parsed.success) throw validationError('Invalid body', parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message })));
      return { success: true as const, ...(await dnc.importEntries(parsed.data.entries, parsed.data.source ?? request.query.source)) };
    },
  });
};
