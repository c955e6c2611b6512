import { defineConfig } from 'vitest/config';

/** `npm run test:browser`: the operator console in a real Chromium (CHROMIUM_PATH, default /usr/bin/chromium). */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.spec.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
