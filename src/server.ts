import { startApi } from './api-runtime.js';
import { runProcess } from './lib/run-process.js';

await runProcess('api', startApi);
