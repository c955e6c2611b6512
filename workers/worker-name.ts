import { hostname } from 'node:os';

/** Named by machine and process, so Bull Board's list of a queue's workers says which is which. */
export const workerName = () => `${hostname()}:${process.pid}`;
