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

/** The error responses every API route may give, beside its own. */
export const commonErrors = {
  400: errorBodySchema,
  401: errorBodySchema.describe('No valid API key'),
  403: errorBodySchema.describe('The key may not do this (an admin key is needed)'),
  503: errorBodySchema,
} as const;
