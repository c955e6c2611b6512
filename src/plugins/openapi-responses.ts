import type { FastifySchema, RouteOptions } from 'fastify';
import type { AuthScope } from './auth.js';
import { declaredScope } from './auth.js';
import { requestContentOf } from './openapi-request-content.js';
import { errorBodySchema } from '../routes/shared/error.schemas.js';

type Responses = Record<string, unknown>;

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorBodySchema } } });

/** The error answers a route can give whatever its handler does, from what the route declares. */
function commonResponses(route: RouteOptions, scope: AuthScope): Responses {
  const schema = route.schema as (FastifySchema & { body?: unknown; querystring?: unknown; params?: unknown }) | undefined;
  const takesBody = Boolean(schema?.body) || requestContentOf(route) !== undefined;
  const responses: Responses = {};
  if (takesBody || schema?.querystring || schema?.params) responses[400] = errorResponse('The request is invalid: `details` names each field');
  if (scope === 'key' || scope === 'admin') responses[401] = errorResponse('No valid API key (send Authorization: Bearer <key>)');
  if (scope === 'admin') responses[403] = errorResponse('The key may not do this: an admin key is needed');
  if (scope === 'signed') responses[403] = errorResponse("The request's signature or secret does not match");
  if (takesBody) responses[413] = errorResponse('The body is larger than BODY_LIMIT_BYTES');
  if (schema?.params) responses[414] = errorResponse('A path parameter is longer than 100 characters');
  if (takesBody) responses[415] = errorResponse(scope === 'signed' ? 'The body is not a form' : requestContentOf(route) ? `The body is not ${Object.keys(requestContentOf(route)!).join(' or ')}` : 'The body is not JSON');
  if (scope === 'key' || scope === 'admin') responses[429] = errorResponse('Too many requests for this key: retry after Retry-After seconds');
  responses[500] = errorResponse("The service's own fault (details are logged, never sent)");
  responses[503] = errorResponse('Redis is unreachable: answered at once; retry shortly');
  return responses;
}

/**
 * A route's schema as the OpenAPI document shows it: routes that take no key need none, and every
 * error the access rule, the body parser, the rate limit and the error handler can give is listed
 * beside the route's own answers (which win where both name a status).
 */
export function documentedSchema(route: RouteOptions): FastifySchema | undefined {
  const schema = route.schema as (FastifySchema & { response?: Responses }) | undefined;
  if (!schema) return schema;
  const scope = declaredScope(route);
  return {
    ...schema,
    ...((scope === 'open' || scope === 'signed') && { security: [] }),
    response: { ...commonResponses(route, scope), ...schema.response },
  };
}
