import rateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { AppError } from '../errors.js';
import { takesNoKey } from './auth.js';
import { leasedCountStore } from './rate-limit-store.js';

export interface RateLimitOptions {
  redis: Redis;
  prefix: string;
  max: number;
  windowMs: number;
}

/**
 * A request rate limit per API key (per address without keys) on every route that takes a key,
 * counted in Redis so every API process shares it (a block of numbers at a time: rate-limit-store.ts).
 * Past it: 429 with Retry-After. If Redis cannot count, requests go on (and meet Redis's own 503
 * where they need it).
 */
export const rateLimitPlugin = fp<RateLimitOptions>(
  async (app: FastifyInstance, options) => {
    const counts = leasedCountStore({ redis: options.redis, prefix: `${options.prefix}:rate-limit:` });
    await app.register(rateLimit, {
      global: true,
      store: class LeasedStore implements FastifyRateLimitStore {
        incr = counts.incr;
        child = counts.child;
      },
      max: options.max,
      timeWindow: options.windowMs,
      skipOnError: true,
      allowList: takesNoKey,
      keyGenerator: (request) => request.apiKeyId ?? request.ip,
      errorResponseBuilder: (_request, context) =>
        new AppError(429, 'RATE_LIMITED', `Too many requests: at most ${context.max} per window; retry in ${context.after}`),
    });
  },
  { name: 'rate-limit', dependencies: ['auth'] },
);
