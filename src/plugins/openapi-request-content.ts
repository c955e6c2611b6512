import type { RouteOptions } from 'fastify';
import { z } from 'zod';

/** A body a route reads itself, in several media types (a streamed CSV or JSON): documented, not validated by Fastify. */
export type RequestContent = Record<string, z.ZodType>;

declare module 'fastify' {
  interface FastifyContextConfig {
    requestContent?: RequestContent;
  }
}

export const requestContentOf = (route: Pick<RouteOptions, 'config'>): RequestContent | undefined => (route.config as { requestContent?: RequestContent } | undefined)?.requestContent;

/** The transformed route schema with its body described for each media type the route reads. */
export function withRequestContent<T extends { schema: object }>(route: Pick<RouteOptions, 'config'>, transformed: T): T {
  const content = requestContentOf(route);
  if (!content) return transformed;
  const described = Object.fromEntries(Object.entries(content).map(([type, schema]) => [type, { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) }]));
  return { ...transformed, schema: { ...transformed.schema, body: { content: described } } };
}
