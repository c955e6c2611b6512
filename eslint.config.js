import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders of src/ from the lowest layer up; a layer may import its own and the ones below, never one above. */
const restrict = (...groups) => ({
  'no-restricted-imports': ['error', { patterns: groups.map(([group, message]) => ({ group, message })) }],
});
const ABOVE_DOMAIN = [['**/plugins/**', '**/routes/**', '**/app.js', '**/core.js', '**/api-runtime.js', '**/server.js', '**/openapi-document.js'], 'The domain does not know HTTP or wiring: pass what it needs in.'];
const PROCESSES = [['**/workers/**', '**/bin/**'], 'src/ never imports worker or entry files.'];
const DOMAIN = [['**/calls/**', '**/call-log/**', '**/capacity/**', '**/connect/**', '**/contact/**'], 'This layer sits below the domain folders.'];
const JOBS = [['**/jobs/**'], 'This layer sits below the job catalog.'];
const CARRIERS = [['**/carriers/**'], 'This layer sits below the carriers.'];
const CAPACITY_STORE = [['**/capacity/capacity-store*'], 'Capacity has one face: use the capacity service, not its store.'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['bin/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['console/**'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(['window', 'document', 'fetch', 'EventSource', 'Intl', 'Node', 'setTimeout', 'console'].map((name) => [name, 'readonly'])),
    },
  },
  {
    files: ['examples/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: { 'no-console': 'off' },
  },
  // The direction of imports: lib <- carriers <- jobs <- calls, call-log, capacity, connect, contact <- plugins, routes <- app, core, entry files.
  { files: ['workers/**', 'bin/**', 'bench/**', 'test/**'], rules: restrict(CAPACITY_STORE) },
  { files: ['src/*.ts'], rules: restrict(PROCESSES, CAPACITY_STORE) },
  { files: ['src/lib/**'], rules: restrict(PROCESSES, ABOVE_DOMAIN, DOMAIN, JOBS, CARRIERS) },
  { files: ['src/carriers/**'], rules: restrict(PROCESSES, ABOVE_DOMAIN, DOMAIN, JOBS) },
  { files: ['src/jobs/**'], rules: restrict(PROCESSES, ABOVE_DOMAIN, DOMAIN) },
  { files: ['src/calls/**', 'src/call-log/**'], rules: restrict(PROCESSES, ABOVE_DOMAIN, CAPACITY_STORE) },
  { files: ['src/capacity/**'], rules: restrict(PROCESSES, ABOVE_DOMAIN) },
  { files: ['src/connect/**', 'src/contact/**'], rules: restrict(PROCESSES, ABOVE_DOMAIN, CAPACITY_STORE) },
  { files: ['src/campaigns/**', 'src/events/**'], rules: restrict(PROCESSES, ABOVE_DOMAIN, CAPACITY_STORE) },
  {
    files: ['src/plugins/**', 'src/routes/**'],
    rules: restrict(PROCESSES, CAPACITY_STORE, [['**/app.js', '**/core.js', '**/api-runtime.js', '**/server.js', '**/openapi-document.js'], 'Routes and plugins are wired by the app, not the other way round.']),
  },
);
