import { runProcess } from '../../src/lib/run-process.js';
import { startCallWorker } from './call-worker.js';

await runProcess('worker', startCallWorker);
