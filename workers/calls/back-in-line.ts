import { WaitingError, type Job } from 'bullmq';
import type { CallJobData } from '../../src/jobs/call-jobs.js';

/** Ahead of the other calls of its priority level. */
export const frontOfItsLevel = (job: Job<CallJobData>) => job.changePriority({ priority: job.opts.priority ?? 2, lifo: true });

/** Back to the front of its priority level: waiting for a slot or a turn must not cost a call its place. */
export async function backInLine(job: Job<CallJobData>, token: string | undefined): Promise<void> {
  await job.moveToWait(token);
  await frontOfItsLevel(job).catch(() => {});
}

/** Puts the job back in line for a worker to take later; BullMQ counts it neither done nor failed. */
export async function putBack(job: Job<CallJobData>, token: string | undefined): Promise<never> {
  await backInLine(job, token);
  throw new WaitingError();
}
