import { expect, test as base } from 'vitest';
import { startService as startHarnessService, twilioEnv, type Service } from './harness.js';
import { startSupabase } from './supabase.js';
import { startTwilioStandIn } from './twilio-stand-in.js';

type Env = Record<string, string>;
export type StartService = (env?: Env) => Promise<Service>;

/** Starts services with `base` under their own env, and stops every one of them on cleanup. */
function launcher(base: Env, onCleanup: (cleanup: () => Promise<void>) => void): StartService {
  const started: Service[] = [];
  onCleanup(async () => {
    for (const service of started.reverse()) await service.stop();
  });
  return async (env = {}) => {
    const service = await startHarnessService({ ...base, ...env });
    started.push(service);
    return service;
  };
}

/**
 * Tests with their parts started on demand and torn down after them: a Twilio stand-in, services
 * wired to it, and one service a whole file shares. A file or describe block sets what they are
 * started with through `test.override`, e.g. `test.override({ serviceEnv: { REDIAL_ON: 'none' } })`.
 */
export const test = base
  /** How the stand-in answers (for example how long it takes to create a call). */
  .extend('twilioOptions', {} as Parameters<typeof startTwilioStandIn>[0])
  /** Only a test of the contract check itself sends requests that break Twilio's API description. */
  .extend('contractViolationsExpected', false)
  .extend('twilio', async ({ twilioOptions, contractViolationsExpected }, { onCleanup }) => {
    const standIn = await startTwilioStandIn(twilioOptions);
    onCleanup(async () => {
      await standIn.close();
      if (!contractViolationsExpected) expect(standIn.violations, "requests that do not match Twilio's API description").toEqual([]);
    });
    return standIn;
  })
  /** Starts services (simulated carrier unless the env names Twilio); every one stops after the test. */
  // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from this pattern
  .extend('startService', async ({}, { onCleanup }) => launcher({}, onCleanup))
  /** Starts services that dial through the stand-in; they stop before it does. */
  .extend('startTwilioService', async ({ twilio }, { onCleanup }) => launcher(twilioEnv(twilio), onCleanup))
  /** A private Supabase (PostgreSQL and PostgREST) for one test. */
  // eslint-disable-next-line no-empty-pattern -- as above
  .extend('supabase', async ({}, { onCleanup }) => {
    const supabase = await startSupabase();
    onCleanup(() => supabase.stop());
    return supabase;
  })
  /** What `service` is started with, besides the stand-in. */
  .extend('serviceEnv', {} as Env)
  /** A service that dials through the stand-in, started for one test. */
  .extend('service', async ({ startTwilioService, serviceEnv }) => startTwilioService(serviceEnv))
  /** What `fileService` is started with. */
  .extend('fileServiceEnv', { scope: 'file' }, {} as Env)
  /** One service (simulated carrier) for every test of a file that uses it, stopped after the file. */
  .extend('fileService', { scope: 'file' }, async ({ fileServiceEnv }, { onCleanup }) => {
    const service = await startHarnessService(fileServiceEnv);
    onCleanup(() => service.stop());
    return service;
  });

export const it = test;
