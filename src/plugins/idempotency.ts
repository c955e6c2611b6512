import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey?: string;
  }
}

export interface IdempotencyOptions {
  redis: Redis;
  prefix: string;
  /** How long a key and its first response are kept. */
  ttlSeconds?: number;
  /** How long a request waits for a concurrent one with the same key to finish. */
  waitMs?: number;
}

interface Stored {
  bodyHash: string;
  status?: number;
  body?: string;
}

const hash = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * `Idempotency-Key` for the scheduling routes: the same key with the same body within the TTL
 * answers the first response again (and schedules nothing); with another body it is refused (422);
 * a request arriving while the first is still running waits for its answer. Keys are scoped to the
 * API key that sent them. Only successes are kept: after an error the client may simply retry.
 */
export async function idempotency(app: FastifyInstance, options: IdempotencyOptions) {
  const ttl = options.ttlSeconds ?? 24 * 3600;
  const waitMs = options.waitMs ?? 10_000;
  const keyOf = (request: FastifyRequest, key: string) => `${options.prefix}:idempotency:${hash(`${request.apiKeyId ?? ''}:${request.routeOptions.url}:${key}`)}`;

  const replay = (reply: FastifyReply, stored: Stored) =>
    reply.code(stored.status!).header('idempotent-replayed', 'true').type('application/json').send(stored.body);

  app.addHook('preHandler', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (key === undefined) return;
    if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
      throw new AppError(400, 'VALIDATION_ERROR', 'Idempotency-Key must be 1 to 255 characters', [{ field: 'Idempotency-Key', message: 'must be 1 to 255 characters' }]);
    }
    const redisKey = keyOf(request, key);
    const bodyHash = hash(JSON.stringify(request.body ?? null));
    const claimed = await options.redis.set(redisKey, JSON.stringify({ bodyHash }), 'EX', ttl, 'NX');
    if (claimed === 'OK') {
      request.idempotencyKey = redisKey;
      return;
    }
    for (const deadline = Date.now() + waitMs; ; ) {
      const stored = JSON.parse((await options.redis.get(redisKey)) ?? 'null') as Stored | null;
      if (stored === null) throw new AppError(409, 'IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key failed just now; send it again');
      if (stored.bodyHash !== bodyHash) throw new AppError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with another request body');
      if (stored.status !== undefined) return replay(reply, stored);
      if (Date.now() > deadline) throw new AppError(409, 'IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being handled');
      await sleep(25);
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.idempotencyKey) return payload;
    if (reply.statusCode < 300) {
      const stored: Stored = { bodyHash: hash(JSON.stringify(request.body ?? null)), status: reply.statusCode, body: String(payload) };
      await options.redis.set(request.idempotencyKey, JSON.stringify(stored), 'EX', ttl);
    } else {
      await options.redis.del(request.idempotencyKey);
    }
    return payload;
  });
}
