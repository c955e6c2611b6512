import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';

/** What a route needs: nothing, any key, or an admin key. Routes say `config: { auth: 'admin' }`. */
export type AuthScope = 'open' | 'key' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthScope;
  }
  interface FastifyRequest {
    /** A short, non-secret id of the key used (for idempotency and rate limits). */
    apiKeyId?: string;
  }
}

export interface AuthOptions {
  apiKeys: readonly string[];
  adminApiKeys: readonly string[];
}

const digest = (key: string) => createHash('sha256').update(key).digest();

/** Paths that need a key unless the route says otherwise; everything else is open (health, docs, signed webhooks). */
const NEEDS_KEY = /^\/api\//;
const NEEDS_ADMIN = /^\/admin(\/|$|\?)/;

/**
 * Bearer API keys. Keys are compared as SHA-256 digests in constant time, against every key, so
 * neither timing nor length tells anything; they are never logged. With no keys configured the API
 * serves loopback only (configuration refuses anything else) and needs none.
 */
export const authPlugin = fp<AuthOptions>(
  async (app: FastifyInstance, options) => {
    if (options.apiKeys.length === 0 && options.adminApiKeys.length === 0) return;
    const keys = [
      ...options.adminApiKeys.map((key) => ({ digest: digest(key), admin: true })),
      ...options.apiKeys.map((key) => ({ digest: digest(key), admin: false })),
    ];

    const identify = (request: FastifyRequest) => {
      const header = request.headers.authorization;
      const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!match) return undefined;
      const given = digest(match[1]!);
      let found: { admin: boolean } | undefined;
      for (const key of keys) if (timingSafeEqual(key.digest, given) && !found) found = key;
      return found && { ...found, id: given.subarray(0, 8).toString('hex') };
    };

    app.addHook('onRequest', async (request, reply) => {
      const scope = request.routeOptions.config.auth ?? (NEEDS_ADMIN.test(request.url) ? 'admin' : NEEDS_KEY.test(request.url) ? 'key' : 'open');
      if (scope === 'open') return;
      const key = identify(request);
      if (!key) {
        reply.header('www-authenticate', 'Bearer');
        throw new AppError(401, 'UNAUTHORIZED', 'Send a valid API key as Authorization: Bearer <key>');
      }
      if (scope === 'admin' && !key.admin) throw new AppError(403, 'FORBIDDEN', 'This needs an admin API key');
      request.apiKeyId = key.id;
    });
  },
  { name: 'auth', dependencies: ['error-handler'] },
);
