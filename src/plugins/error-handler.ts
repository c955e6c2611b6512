import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { redisUnavailableReason } from '../lib/redis.js';
import { AppError, serviceUnavailable, type ErrorDetail } from '../errors.js';
import { processMetrics } from '../metrics.js';

/** Fastify's own client errors, renamed to the contract's codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'INVALID_BODY' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'INVALID_BODY' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_JSON' },
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_URL' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'URI_TOO_LONG' },
  FST_CSRF_MISSING_SECRET: { status: 403, code: 'CSRF_TOKEN_INVALID' },
  FST_CSRF_INVALID_TOKEN: { status: 403, code: 'CSRF_TOKEN_INVALID' },
};

/** `/calls/3/to` becomes `calls[3].to`, with 3 as the bulk item's index. */
function toDetail(instancePath: string, message: string): ErrorDetail {
  const parts = instancePath.split('/').filter(Boolean);
  const field = parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
  const index = parts[0] === 'calls' && parts[1] !== undefined && /^\d+$/.test(parts[1]) ? Number(parts[1]) : undefined;
  return { field: field || '(body)', message, ...(index !== undefined && { index }) };
}

const MAX_DETAILS = 100;

/** Seconds a client should wait after a 503: about what a Redis failover or reconnection takes. */
export const SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

function toAppError(error: FastifyError): AppError {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const details = error.validation.slice(0, MAX_DETAILS).map((issue) => toDetail(issue.instancePath, issue.message ?? 'is invalid'));
    const where = error.validationContext ?? 'request';
    const more = error.validation.length > MAX_DETAILS ? ` (first ${MAX_DETAILS} of ${error.validation.length} problems shown)` : '';
    return new AppError(400, 'VALIDATION_ERROR', `Invalid ${where}: ${details[0]?.field} ${details[0]?.message}${more}`, details);
  }
  const known = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (known) return new AppError(known.status, known.code, error.message);
  const redisAway = redisUnavailableReason(error);
  if (redisAway === 'unreachable') return serviceUnavailable();
  if (redisAway === 'switching') return serviceUnavailable('The queue store (Redis) is failing over or resharding; try again shortly');
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new AppError(error.statusCode, 'BAD_REQUEST', error.message);
  }
  return new AppError(500, 'INTERNAL_ERROR', 'Internal server error');
}

/** Renders any error as the contract's body: `{success:false, error, message, details?}` plus the request id. */
export function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const appError = toAppError(error);
  processMetrics().apiErrors.inc({ code: appError.code, status: String(appError.statusCode) });
  if (appError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
  if (appError.statusCode === 503 && !reply.hasHeader('retry-after')) reply.header('Retry-After', String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS));
  return reply.code(appError.statusCode).send({
    success: false,
    error: appError.code,
    message: appError.message,
    ...(appError.details && { details: appError.details }),
    requestId: request.id,
  });
}

/** One error shape for every route. Errors the router raises before routing go through `sendError` too. */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler(sendError);

    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send({
        success: false,
        error: 'NOT_FOUND',
        message: `Route ${request.method} ${request.url.split('?')[0]} not found`,
        requestId: request.id,
      }),
    );
  },
  { name: 'error-handler' },
);
