import { runProcess } from '../../src/lib/run-process.js';
import { startWorkers } from '../start-workers.js';

await runProcess('worker', startWorkers);
