import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: files run in parallel against one private Redis, isolated by queue prefix.
    // A third worker only adds contention: the slow files spawn processes that need the CPU.
    maxWorkers: 2,
    // Each worker imports the service (Fastify, BullMQ, the Twilio SDK, Bull Board, supabase-js)
    // once and keeps it for every file it runs, instead of paying ~1.5 s of imports per file. Files
    // stay independent through what they own: their Redis key prefix, ports and servers.
    isolate: false,
  },
});
