import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import formBody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/** The page's files: `console/` at the project's root, found from here whether running from src/ or from dist/. */
function consoleDir(): string {
  for (let up = 3; up <= 5; up += 1) {
    const dir = fileURLToPath(new URL(`${'../'.repeat(up)}console/`, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('the console\'s files (console/index.html) are missing beside the service');
}
const CONSOLE_DIR = consoleDir();
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js')) + '/';

/** The files the page is made of, read once: the page works on a closed network, with nothing from a CDN. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'console.js': { file: `${CONSOLE_DIR}console.js`, type: 'text/javascript; charset=utf-8' },
  'console.css': { file: `${CONSOLE_DIR}console.css`, type: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': { file: `${UPLOT_DIR}uPlot.iife.min.js`, type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { file: `${UPLOT_DIR}uPlot.min.css`, type: 'text/css; charset=utf-8' },
};

/** Sign-in attempts one address may make a minute. */
export const SIGN_IN_ATTEMPTS_PER_MINUTE = 10;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/**
 * The operator console's pages: the console itself (behind a login when keys are set), the login
 * form that turns an API key into a session, logout, and the page's own files. Its data comes from
 * the JSON API (/api/console/…, and the same endpoints curl uses for every action).
 */
export const consolePageRoutes: FastifyPluginAsync = async (app) => {
  await app.register(formBody);
  const pages = { console: readFileSync(`${CONSOLE_DIR}index.html`, 'utf8'), login: readFileSync(`${CONSOLE_DIR}login.html`, 'utf8') };
  const assets = Object.fromEntries(Object.entries(ASSETS).map(([name, { file, type }]) => [name, { body: readFileSync(file), type }]));
  const html = (reply: FastifyReply, body: string, status = 200) =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
      .header('x-frame-options', 'DENY')
      .send(body);
  const loginPage = (reply: FastifyReply, message = '', status = 200) =>
    html(reply, pages.login.replace('{{csrf}}', escapeHtml(reply.generateCsrf())).replace('{{message}}', message ? `<p class="problem" role="alert">${escapeHtml(message)}</p>` : ''), status);
  const loggedIn = (request: FastifyRequest) => !app.keysRequired || app.consoleSession.read(request) !== undefined;
  const hidden = { hide: true };

  app.get('/console', { schema: hidden }, async (request, reply) => (loggedIn(request) ? html(reply, pages.console) : reply.redirect('/console/login', 303)));

  app.get('/console/login', { schema: hidden }, async (request, reply) => (app.keysRequired ? loginPage(reply) : reply.redirect('/console', 303)));

  // Sign-in attempts are counted per address, whatever the rate limit of keyed routes: keys are not guessed here.
  const signInLimit = { rateLimit: { max: SIGN_IN_ATTEMPTS_PER_MINUTE, timeWindow: 60_000, allowList: () => false, keyGenerator: (request: FastifyRequest) => `sign-in:${request.ip}` } };
  app.post('/console/login', { schema: hidden, config: signInLimit, preHandler: app.csrfProtection }, async (request, reply) => {
    const given = (request.body as { apiKey?: unknown } | undefined)?.apiKey;
    const key = typeof given === 'string' && given.length <= 512 ? app.apiKeyOf(given.trim()) : undefined;
    if (!key) return loginPage(reply, 'That is not one of this service’s API keys.', 401);
    app.consoleSession.issue(reply, key.id);
    return reply.redirect('/console', 303);
  });

  app.post('/console/logout', { schema: hidden, preHandler: app.csrfProtection }, async (_request, reply) => {
    app.consoleSession.clear(reply);
    return reply.redirect('/console/login', 303);
  });

  app.get('/console/assets/:name', { schema: hidden }, async (request, reply) => {
    const asset = assets[(request.params as { name: string }).name];
    if (!asset) return reply.code(404).header('content-type', 'text/plain').send('Not found');
    return reply.header('content-type', asset.type).header('cache-control', 'public, max-age=300').send(asset.body);
  });
};
