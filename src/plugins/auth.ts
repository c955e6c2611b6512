import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import { DASHBOARD_PATH } from './dashboard.js';

/**
 * Who may call a route: anyone (`open`), anyone whose request carries its own proof (`signed`: Twilio's
 * signature, the agent's secret, checked by the route), any API key (`key`), or an admin key (`admin`).
 */
export type AuthScope = 'open' | 'signed' | 'key' | 'admin';

/** A route that declares nothing is an admin operation: access is denied until a route says otherwise. */
export const DEFAULT_SCOPE: AuthScope = 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthScope;
  }
  interface FastifyRequest {
    /** A short, non-secret id of the key used (for idempotency and rate limits). */
    apiKeyId?: string;
    /** True when the key came from a console session cookie rather than a header: changes then need a CSRF token. */
    viaSession?: boolean;
    /** Whether the key that made the request may run admin operations (false: read key; undefined: no keys at all). */
    isAdmin?: boolean;
  }
  interface FastifyInstance {
    /** Every route with the access it requires, as the router matches them. */
    routeAccess(): ReadonlyArray<{ method: string; url: string; scope: AuthScope }>;
    /** The key a console login gives, by its value: its id and whether it is an admin key. */
    apiKeyOf(key: string): { id: string; admin: boolean } | undefined;
    /** Whether the service asks for keys at all (without keys it serves loopback only). */
    keysRequired: boolean;
  }
}

export interface AuthOptions {
  apiKeys: readonly string[];
  adminApiKeys: readonly string[];
}

const digest = (key: string) => createHash('sha256').update(key).digest();

/** The scope a route declares, if any. */
const ownScope = (route: RouteOptions): AuthScope | undefined => (route.config as { auth?: AuthScope } | undefined)?.auth;

/** The scope a registered route ends up with: its own, or the default that denies. */
export const declaredScope = (route: RouteOptions): AuthScope => ownScope(route) ?? DEFAULT_SCOPE;

const needsNoKey = (scope: AuthScope) => scope === 'open' || scope === 'signed';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The scope of the route a request matched; a request that matched none needs a key to learn so. */
export function scopeOf(request: FastifyRequest): AuthScope {
  if (request.is404) return 'key';
  return request.routeOptions.config.auth ?? DEFAULT_SCOPE;
}

/** True when the route a request matched takes no API key (the rate limit does not count those). */
export const takesNoKey = (request: FastifyRequest) => needsNoKey(scopeOf(request));

/** An `onRoute` hook that gives every route of a plugin `scope`, unless the route declares its own. */
export function routeScope(scope: AuthScope) {
  return (route: RouteOptions) => {
    const own = ownScope(route);
    route.config = { ...route.config, auth: own ?? scope };
  };
}

/**
 * Bearer API keys, decided from the route that matched (never from the URL's spelling). Keys are
 * compared as SHA-256 digests in constant time, against every key, so neither timing nor length
 * tells anything; they are never logged. With no keys configured the API serves loopback only
 * (configuration refuses anything else) and needs none.
 */
export const authPlugin = fp<AuthOptions>(
  async (app: FastifyInstance, options) => {
    const routes: RouteOptions[] = [];
    app.addHook('onRoute', (route) => {
      routes.push(route);
    });
    app.decorate('routeAccess', () =>
      routes.flatMap((route) =>
        [route.method].flat().map((method) => ({ method, url: route.url, scope: declaredScope(route) })),
      ),
    );

    const keys = [
      ...options.adminApiKeys.map((key) => ({ digest: digest(key), admin: true })),
      ...options.apiKeys.map((key) => ({ digest: digest(key), admin: false })),
    ].map((key) => ({ ...key, id: key.digest.subarray(0, 8).toString('hex') }));
    const byValue = (value: string) => {
      const given = digest(value);
      let found: { admin: boolean; id: string } | undefined;
      for (const key of keys) if (timingSafeEqual(key.digest, given) && !found) found = key;
      return found && { admin: found.admin, id: found.id };
    };
    const byId = (id: string) => {
      const found = keys.find((key) => key.id === id);
      return found && { admin: found.admin, id };
    };
    app.decorate('apiKeyOf', byValue);
    app.decorate('keysRequired', keys.length > 0);
    if (keys.length === 0) return;

    /** The Bearer key; else, for a browser, the key its console session names (while that key is still configured). */
    const identify = (request: FastifyRequest) => {
      const header = request.headers.authorization;
      if (header) {
        const match = /^Bearer\s+(\S+)$/i.exec(header);
        return match ? byValue(match[1]!) : undefined;
      }
      const session = app.hasDecorator('consoleSession') ? app.consoleSession.read(request) : undefined;
      const key = session && byId(session.keyId);
      return key && { ...key, viaSession: true };
    };

    app.addHook('onRequest', async (request, reply) => {
      const scope = scopeOf(request);
      if (needsNoKey(scope)) return;
      const key = identify(request);
      if (!key) {
        reply.header('www-authenticate', 'Bearer');
        throw new AppError(401, 'UNAUTHORIZED', 'Send a valid API key as Authorization: Bearer <key>');
      }
      if (scope === 'admin' && !key.admin) throw new AppError(403, 'FORBIDDEN', 'This needs an admin API key');
      request.apiKeyId = key.id;
      request.isAdmin = key.admin;
      if ('viaSession' in key) request.viaSession = true;
    });
    // A change made through a console session must carry its CSRF token (a header or a form field);
    // Bull Board's page, which sends none, must at least come from this very origin.
    app.addHook('onRequest', (request, reply, done) => {
      if (!request.viaSession || SAFE_METHODS.has(request.method)) return done();
      if (request.routeOptions.url?.startsWith(`${DASHBOARD_PATH}/`) && request.headers.origin === `${request.protocol}://${request.host}`) return done();
      return app.csrfProtection(request, reply, done);
    });
  },
  { name: 'auth', dependencies: ['error-handler', 'console-session'] },
);
