import { randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export const SESSION_COOKIE = 'switchboard_session';
const CSRF_COOKIE = 'switchboard_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export interface ConsoleSessionOptions {
  /** CONSOLE_SESSION_SECRET, or none: a random secret for this process. */
  secret?: string;
  minutes: number;
}

/** What a console session holds: which key logged in (its id, never the key) and until when. */
export interface ConsoleSession {
  keyId: string;
  expiresAt: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    consoleSession: {
      issue(reply: FastifyReply, keyId: string): ConsoleSession;
      read(request: FastifyRequest): ConsoleSession | undefined;
      clear(reply: FastifyReply): void;
    };
  }
}

const cookieOptions = { path: '/', httpOnly: true, sameSite: 'strict', secure: 'auto', signed: true } as const;

/**
 * The console's login session: a signed, HttpOnly, SameSite=Strict cookie naming the key that
 * logged in and when the session ends (@fastify/cookie), and CSRF tokens for every change made
 * through it (@fastify/csrf-protection: a secret in a signed cookie, the token in `x-csrf-token`).
 */
export const consoleSessionPlugin = fp<ConsoleSessionOptions>(
  async (app: FastifyInstance, options) => {
    await app.register(cookie, { secret: options.secret ?? randomBytes(32).toString('base64') });
    await app.register(csrf, {
      cookieKey: CSRF_COOKIE,
      cookieOpts: cookieOptions,
      getToken: (request) => (request.headers[CSRF_HEADER] as string | undefined) ?? (request.body as { _csrf?: string } | undefined)?._csrf,
    });
    app.decorate('consoleSession', {
      issue(reply, keyId) {
        const session = { keyId, expiresAt: Date.now() + options.minutes * 60_000 };
        reply.setCookie(SESSION_COOKIE, JSON.stringify(session), { ...cookieOptions, maxAge: options.minutes * 60 });
        return session;
      },
      read(request) {
        const raw = request.cookies[SESSION_COOKIE];
        if (!raw) return undefined;
        const { valid, value } = request.unsignCookie(raw);
        if (!valid || !value) return undefined;
        try {
          const session = JSON.parse(value) as ConsoleSession;
          return typeof session.keyId === 'string' && typeof session.expiresAt === 'number' && session.expiresAt > Date.now() ? session : undefined;
        } catch {
          return undefined;
        }
      },
      clear(reply) {
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
      },
    });
  },
  { name: 'console-session' },
);
