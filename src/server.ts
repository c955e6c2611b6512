import { redisAtStart } from './lib/redis-startup.js';
import { startApi } from './api-runtime.js';
import { runProcess } from './lib/run-process.js';

await runProcess('api', async (config, logger) => {
  await redisAtStart(config, logger);
  return startApi(config, logger);
});
