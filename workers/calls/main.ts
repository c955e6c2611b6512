import { redisAtStart } from '../../src/lib/redis-startup.js';
import { runProcess } from '../../src/lib/run-process.js';
import { startWorkers } from '../start-workers.js';

await runProcess(
  'worker',
  async (config, logger) => {
    await redisAtStart(config, logger);
    return startWorkers(config, logger);
  },
  { servesApi: false },
);
