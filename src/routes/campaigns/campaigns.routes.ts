import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Campaign, CampaignDefinition } from '../../campaigns/campaign-definition.js';
import type { CampaignService } from '../../campaigns/campaign-service.js';
import { campaignResultsCsv } from '../../campaigns/campaign-results.js';
import type { RedisConnection as Redis } from '../../lib/redis.js';
import type { CallSchemaLimits } from '../queue/call.schemas.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';
import { campaignIdParams, campaignResponse, campaignSchema, createCampaignSchemas, retryBody, toDefinition } from './campaigns.schemas.js';

export interface CampaignRoutesOptions {
  campaigns: CampaignService;
  /** Where results are read from, a batch at a time. */
  redis: Redis;
  /** QUEUE_PREFIX, which the campaign's keys start with. */
  keyPrefix: string;
  limits: CallSchemaLimits;
}

const tags = ['campaigns'];
const notFoundOrConflict = { 404: errorBodySchema, 409: errorBodySchema };

/** A campaign as the API shows it: its call fields beside the rest. */
export const campaignView = ({ call, ...rest }: Campaign) => ({ ...rest, ...call });

/** Campaigns: a list of contacts dialed under one policy, with states, progress, retries and results. */
export const campaignRoutes: FastifyPluginAsyncZod<CampaignRoutesOptions> = async (app, { campaigns, redis, keyPrefix, limits }) => {
  const schemas = createCampaignSchemas(limits);
  const withProgress = async (campaign: Campaign) => ({ success: true as const, campaign: { ...campaignView(campaign), progress: await campaigns.progress(campaign) } });

  app.post('/campaigns', {
    schema: {
      operationId: 'createCampaign',
      summary: 'Create a campaign (draft): its policy for every contact; add contacts, then start it',
      tags,
      body: schemas.create,
      response: { 201: campaignResponse, ...commonErrors },
    },
    handler: async (request, reply) => {
      const campaign = await campaigns.create(toDefinition(request.body) as CampaignDefinition);
      return reply.code(201).send(await withProgress(campaign));
    },
  });

  app.get('/campaigns', {
    schema: {
      operationId: 'listCampaigns',
      summary: 'Campaigns, newest first, a page at a time',
      tags,
      querystring: z.object({ offset: z.coerce.number().int().min(0).max(1_000_000).default(0), limit: z.coerce.number().int().min(1).max(200).default(50) }),
      response: { 200: z.object({ success: z.literal(true), campaigns: z.array(campaignSchema), total: z.number().int() }), ...commonErrors },
    },
    handler: async (request) => {
      const { campaigns: page, total } = await campaigns.list(request.query.offset, request.query.limit);
      return { success: true as const, campaigns: page.map(campaignView), total };
    },
  });

  app.get('/campaigns/:id', {
    schema: { operationId: 'getCampaign', summary: 'A campaign, with its contacts counted by state, its dials and its pace', tags, params: campaignIdParams, response: { 200: campaignResponse, 404: errorBodySchema, ...commonErrors } },
    handler: async (request) => withProgress(await campaigns.get(request.params.id)),
  });

  app.patch('/campaigns/:id', {
    schema: {
      operationId: 'updateCampaign',
      summary: 'Change a campaign\'s policy (not once cancelled); contacts already handed to workers keep theirs',
      tags,
      params: campaignIdParams,
      body: schemas.patch,
      response: { 200: campaignResponse, ...notFoundOrConflict, ...commonErrors },
    },
    handler: async (request) => withProgress(await campaigns.update(request.params.id, toDefinition(request.body))),
  });

  app.delete('/campaigns/:id', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'deleteCampaign',
      summary: 'Delete a draft, completed or cancelled campaign and its contacts (its call log stays)',
      tags,
      params: campaignIdParams,
      response: { 200: z.object({ success: z.literal(true), id: z.string() }), ...notFoundOrConflict, ...commonErrors },
    },
    handler: async (request) => {
      await campaigns.remove(request.params.id);
      return { success: true as const, id: request.params.id };
    },
  });

  const actions = [
    ['start', 'startCampaign', 'Start dialing a draft campaign (from startAt, if set)'],
    ['pause', 'pauseCampaign', 'Pause a running campaign: every worker stops its dials within a second; other campaigns go on'],
    ['resume', 'resumeCampaign', 'Resume a paused campaign'],
    ['cancel', 'cancelCampaign', 'Cancel a campaign for good: what is not yet dialed is closed, calls live go on, the history stays'],
  ] as const;
  for (const [action, operationId, summary] of actions) {
    app.post(`/campaigns/:id/${action}`, {
      config: { auth: 'admin' },
      schema: { operationId, summary, tags, params: campaignIdParams, response: { 200: campaignResponse, ...notFoundOrConflict, ...commonErrors } },
      handler: async (request) => {
        await campaigns[action](request.params.id);
        return withProgress(await campaigns.get(request.params.id));
      },
    });
  }

  app.post('/campaigns/:id/retry', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'retryCampaignContacts',
      summary: 'Dial again the contacts whose last outcome is one of those given (a completed campaign runs again)',
      tags,
      params: campaignIdParams,
      body: retryBody,
      response: { 200: z.object({ success: z.literal(true), requeued: z.number().int() }), ...notFoundOrConflict, ...commonErrors },
    },
    handler: async (request) => ({ success: true as const, requeued: await campaigns.retry(request.params.id, request.body.outcomes) }),
  });

  app.get('/campaigns/:id/results.csv', {
    schema: {
      operationId: 'getCampaignResults',
      summary: 'One CSV line per contact: its state, outcome or reason, dials, when it was first and last dialed, its job and when it last changed',
      tags,
      params: campaignIdParams,
      response: { 200: { description: 'CSV with a header row', content: { 'text/csv': { schema: z.string() } } }, 404: errorBodySchema, ...commonErrors },
    },
    handler: async (request, reply) => {
      const campaign = await campaigns.get(request.params.id);
      reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="campaign-${campaign.id}-results.csv"`);
      // A stream is sent as it is read; the type provider knows the 200 only as the string it documents.
      return reply.send(campaignResultsCsv(redis, keyPrefix, campaign.id) as unknown as string);
    },
  });
};
