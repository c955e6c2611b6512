import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

/** The messages of the import-direction rule for `source` as if it were the file at `filePath`. */
async function refusals(filePath: string, source: string) {
  const [result] = await eslint.lintText(source, { filePath });
  return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

describe('the direction of imports, held by npm run lint', () => {
  it.each([
    ['src/lib/mask-number.ts', "import '../calls/job-view.js';"],
    ['src/lib/mask-number.ts', "import '../carriers/carrier.js';"],
    ['src/carriers/carrier.ts', "import '../jobs/call-jobs.js';"],
    ['src/carriers/twilio/twiml.ts', "import '../../capacity/capacity-service.js';"],
    ['src/jobs/call-jobs.ts', "import '../calls/job-view.js';"],
    ['src/calls/job-view.ts', "import '../routes/queue/call.schemas.js';"],
    ['src/capacity/capacity-service.ts', "import '../plugins/auth.js';"],
    ['src/call-log/call-log-writer.ts', "import '../app.js';"],
    ['src/routes/queue/jobs.routes.ts', "import '../../app.js';"],
    ['src/app.ts', "import '../workers/calls/main.js';"],
    ['src/calls/call-lifecycle.ts', "import '../capacity/capacity-store.js';"],
    ['src/routes/capacity/capacity.routes.ts', "import '../../capacity/capacity-store.js';"],
    ['workers/calls/call.processor.ts', "import '../../src/capacity/capacity-store.js';"],
    ['src/core.ts', "import './capacity/capacity-store.js';"],
  ])('refuses %s importing upwards: %s', async (filePath, source) => {
    expect(await refusals(filePath, source)).toHaveLength(1);
  });

  it.each([
    ['src/calls/job-view.ts', "import '../carriers/call-status.js';"],
    ['src/capacity/capacity-service.ts', "import '../calls/call-record-store.js';"],
    ['src/routes/queue/jobs.routes.ts', "import '../../calls/job-view.js';"],
    ['src/app.ts', "import './routes/queue/jobs.routes.js';"],
    ['src/capacity/create-capacity.ts', "import './capacity-store.js';"],
  ])('lets %s import downwards: %s', async (filePath, source) => {
    expect(await refusals(filePath, source)).toEqual([]);
  });
});
