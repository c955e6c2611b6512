import { z } from 'zod';

export const errorBodySchema = z
  .object({
    success: z.literal(false),
    error: z.string().describe('Machine-readable code, e.g. VALIDATION_ERROR or JOB_NOT_FOUND'),
    message: z.string(),
    details: z
      .array(
        z.object({
          field: z.string(),
          message: z.string(),
          index: z.number().int().optional().describe('Item of a bulk request'),
        }),
      )
      .optional(),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Error' });

/**
 * Error responses of API routes, for their runtime serialization. The OpenAPI document adds every
 * status the access rule, parser, rate limit and error handler can give (plugins/openapi-responses.ts).
 */
export const commonErrors = {
  400: errorBodySchema,
  503: errorBodySchema,
} as const;
