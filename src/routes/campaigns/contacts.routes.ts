import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CsvError } from 'csv-parse';
import { randomUUID } from 'node:crypto';
import type { CampaignService } from '../../campaigns/campaign-service.js';
import type { ContactImport } from '../../campaigns/contact-import.js';
import { AppError } from '../../errors.js';
import type { CallSchemaLimits } from '../queue/call.schemas.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';
import { appendResponse, campaignIdParams, createCampaignSchemas, csvImportQuery, importProgressSchema } from './campaigns.schemas.js';

export interface ContactRoutesOptions {
  campaigns: CampaignService;
  contactImport: ContactImport;
  limits: CallSchemaLimits;
}

const tags = ['campaigns'];

/** A campaign's contacts: JSON chunks, idempotent by contact id, and streamed CSV imports with their progress. */
export const contactRoutes: FastifyPluginAsyncZod<ContactRoutesOptions> = async (app, { campaigns, contactImport, limits }) => {
  const schemas = createCampaignSchemas(limits);
  // A CSV upload is read as it arrives, never held whole.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) => done(null, payload));

  app.post('/campaigns/:id/contacts', {
    schema: {
      operationId: 'addCampaignContacts',
      summary: 'Append contacts (a chunk); a chunk sent again adds nothing, and contacts may be added while the campaign runs',
      tags,
      params: campaignIdParams,
      body: schemas.contactsChunk,
      response: { 200: appendResponse, 404: errorBodySchema, 409: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      const contacts = request.body.contacts.map((contact, index) => ({
        key: contact.contactId ?? contact.to,
        to: contact.to,
        line: index,
        ...(contact.contactId !== undefined && { contactId: contact.contactId }),
        ...(contact.lead_id !== undefined && { leadId: contact.lead_id }),
        ...(contact.variables && { variables: contact.variables }),
      }));
      const { added, rejected } = await campaigns.append(request.params.id, contacts);
      return { success: true as const, added, rejected: rejected.map(({ line, reason }) => ({ index: line, reason })) };
    },
  });

  app.post('/campaigns/:id/contacts/csv', {
    config: { requestContent: { 'text/csv': z.string().describe('CSV with a header row naming its columns') } },
    schema: {
      operationId: 'importCampaignContacts',
      summary: 'Import contacts from a CSV upload, streamed: bad rows are named by line and skipped; the answer counts accepted and rejected rows',
      tags,
      params: campaignIdParams,
      querystring: csvImportQuery,
      response: { 200: z.object({ success: z.literal(true), import: importProgressSchema }), 404: errorBodySchema, 409: errorBodySchema, 415: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      if (!request.headers['content-type']?.includes('csv')) throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the CSV as text/csv');
      const { numberColumn, contactIdColumn, leadIdColumn, variableColumns, dryRun, importId = randomUUID() } = request.query;
      const mapping = { number: numberColumn, ...(contactIdColumn && { contactId: contactIdColumn }), ...(leadIdColumn && { leadId: leadIdColumn }), ...(variableColumns && { variables: variableColumns }) };
      try {
        return { success: true as const, import: await contactImport.importCsv(request.params.id, request.body as Readable, { mapping, dryRun, importId }) };
      } catch (error) {
        if (error instanceof CsvError) throw new AppError(400, 'INVALID_CSV', `The CSV could not be read: ${error.message}`);
        throw error;
      }
    },
  });

  app.get('/campaigns/:id/imports/:importId', {
    schema: {
      operationId: 'getCampaignImport',
      summary: 'How far a CSV import has got: lines committed, rows accepted and rejected',
      tags,
      params: campaignIdParams.extend({ importId: z.string().max(64) }),
      response: { 200: z.object({ success: z.literal(true), import: importProgressSchema }), 404: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      const progress = await contactImport.progress(request.params.id, request.params.importId);
      if (!progress) throw new AppError(404, 'IMPORT_NOT_FOUND', `No import ${request.params.importId} in campaign ${request.params.id}`);
      return { success: true as const, import: progress };
    },
  });
};
