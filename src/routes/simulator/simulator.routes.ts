import formBody from '@fastify/formbody';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SimulatedInbound } from '../../carriers/simulated/simulated-inbound.js';
import { AppError } from '../../errors.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';
import { formParams, one } from '../../carriers/twilio/twilio-form.js';
import { SIMULATOR_AGENT_ROUTES, SIMULATOR_ROUTES } from '../../carriers/twilio/webhook-paths.js';
import type { SimulatedAgent } from '../../carriers/simulated/simulated-agent.js';
import { requireTwilioSignature } from '../webhooks/twilio-signature-check.js';
import { phoneNumberSchema } from '../shared/common.schemas.js';

const callSchema = z.object({
  callSid: z.string(),
  from: z.string(),
  state: z.enum(['ringing', 'connected', 'waiting', 'called-back-later', 'hung-up', 'ended']),
  heard: z.array(z.string()).describe('What the caller was told, in order'),
  arrivedAt: z.string(),
  dequeuedAt: z.string().optional().describe('When the service took them out of the queue for their turn'),
  calledBackAt: z.string().optional().describe('When they answered the callback they asked for (then connected, then ended)'),
  connectedAt: z.string().optional(),
  endedAt: z.string().optional(),
});

const agentSessionSchema = z.object({
  callSid: z.string(),
  streamSid: z.string(),
  connectedBy: z.enum(['stream', 'dial']).describe('stream: a <Connect><Stream> call; dial: a call bridged to the agent (its SIP X- headers as parameters)'),
  parameters: z.record(z.string(), z.string()).describe("The stream's custom parameters: the lead's context"),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  mediaMessages: z.number().int(),
  endOfCallReport: z.enum(['sent', 'failed']).nullable(),
});

export interface SimulatorRoutesOptions {
  simulator: SimulatedInbound | undefined;
  simulatedAgent: SimulatedAgent | undefined;
  authToken: string;
  publicBaseUrl: string;
}

/**
 * The simulated carrier's inbound side, for trying the whole flow with no account: place inbound
 * calls, watch what callers hear. Absent (404) when dialing through Twilio.
 */
export const simulatorRoutes: FastifyPluginAsyncZod<SimulatorRoutesOptions> = async (app, { simulator, simulatedAgent, authToken, publicBaseUrl }) => {
  await app.register(formBody);
  const signedByCarrier = requireTwilioSignature({ authToken, publicBaseUrl });
  const running = () => {
    if (!simulator) throw new AppError(404, 'SIMULATOR_OFF', 'The simulated carrier is off: calls go through Twilio');
    return simulator;
  };

  app.get(SIMULATOR_AGENT_ROUTES.sessions, {
    schema: {
      operationId: 'listSimulatedAgentSessions',
      summary: 'Calls the built-in simulated agent took, newest first, with the context each carried (simulated carrier only)',
      tags: ['simulator'],
      response: { 200: z.object({ success: z.literal(true), sessions: z.array(agentSessionSchema) }), 404: errorBodySchema },
    },
    handler: async () => {
      if (!simulatedAgent) throw new AppError(404, 'SIMULATOR_OFF', 'The simulated carrier is off: calls go through Twilio');
      return { success: true as const, sessions: simulatedAgent.sessions() };
    },
  });

  app.post('/inbound-calls', {
    schema: {
      operationId: 'simulateInboundCall',
      summary: 'A simulated caller dials in (simulated carrier only)',
      tags: ['simulator'],
      body: z.strictObject({
        from: phoneNumberSchema,
        talkSeconds: z.number().min(1).max(3600).optional().describe('How long they talk with the agent (60 by default)'),
        acceptsCallback: z.boolean().optional().describe('Press 1 when offered a callback'),
        patienceSeconds: z.number().min(1).optional().describe('Hang up after waiting this long'),
      }),
      response: { 201: z.object({ success: z.literal(true), call: callSchema }), 404: errorBodySchema, ...commonErrors },
    },
    handler: async (request, reply) => reply.code(201).send({ success: true as const, call: running().call(request.body) }),
  });

  app.get('/inbound-calls', {
    schema: {
      operationId: 'listSimulatedInboundCalls',
      summary: 'Simulated inbound calls and what each caller heard (simulated carrier only)',
      tags: ['simulator'],
      response: { 200: z.object({ success: z.literal(true), calls: z.array(callSchema) }), 404: errorBodySchema },
    },
    handler: async () => ({ success: true as const, calls: running().list() }),
  });

  // Signed by the simulated carrier, which holds no API key.
  app.post(SIMULATOR_ROUTES.phoneCalls, {
    config: { auth: 'signed' },
    preHandler: signedByCarrier,
    schema: {
      operationId: 'simulatedPhoneCall',
      summary: "An outbound call's progress at a simulated caller's phone: a callback answered, then ended (signed)",
      tags: ['simulator'],
      body: formParams,
      response: { 204: z.undefined().describe('The phone took the news'), 403: errorBodySchema, 404: errorBodySchema },
    },
    handler: async (request, reply) => {
      const message = one(request.body.Message);
      const call = { to: one(request.body.To) ?? '', callSid: one(request.body.CallSid) ?? '', status: one(request.body.CallStatus) ?? '', ...(message && { message }) };
      if (!running().phoneCall(call)) throw new AppError(404, 'NOT_A_SIMULATED_CALLER', 'No simulated caller waits for a call at that number');
      return reply.code(204).send();
    },
  });

  app.post(SIMULATOR_ROUTES.queueMember, {
    config: { auth: 'signed' },
    preHandler: signedByCarrier,
    schema: {
      operationId: 'simulatedQueueMemberRedirect',
      summary: "Takes a waiting simulated caller out of the queue, as Twilio's Queue Member update does (signed)",
      tags: ['simulator'],
      params: z.object({ queueSid: z.string().max(64), callSid: z.string().max(64) }),
      body: formParams,
      response: { 200: z.object({ success: z.literal(true) }), 403: errorBodySchema, 404: errorBodySchema },
    },
    handler: async (request) => {
      if (!running().redirect(request.params.callSid, one(request.body.Url) ?? '')) throw new AppError(404, 'NOT_IN_QUEUE', 'That caller is not waiting in the queue');
      return { success: true as const };
    },
  });
};
