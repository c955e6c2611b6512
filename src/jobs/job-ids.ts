import { createHash, randomUUID } from 'node:crypto';

/**
 * Every scheme by which a job id is made. Ids that follow from something (a request's
 * Idempotency-Key, the call a redial follows, the caller a callback serves, the call a poll tracks)
 * make adding the same job twice a no-op, which is what keeps retries from dialing anyone twice.
 */
export const jobIds = {
  /**
   * A call with nothing to derive its id from. Made here, not by Redis's counter: a counter that a
   * failover rolls back would hand one id to two calls. Time-ordered, so ids sort as calls arrived.
   */
  newCall: () => `call-${timeOrderedUuid()}`,
  /** The calls of one request sent with an Idempotency-Key, by their index in it. */
  fromIdempotencyKey(idempotencyKey: string): (index?: number) => string {
    const base = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24);
    return (index = 0) => `req-${base}-${index}`;
  },
  /** A new recurring schedule. */
  newRecurring: () => `rec-${randomUUID()}`,
  /** BullMQ names each run of a job scheduler by the schedule and the time it is due. */
  recurringRun: (schedulerId: string, dueAtMs: number) => `repeat:${schedulerId}:${dueAtMs}`,
  recurringRunPrefix: (schedulerId: string) => `repeat:${schedulerId}:`,
  /** The `redialNumber`th redial of a chain of calls ("repeat:" ids hold colons, which BullMQ refuses in custom ids). */
  redial: (rootJobId: string, redialNumber: number) => `redial-${rootJobId.replaceAll(':', '_')}-${redialNumber}`,
  /** The callback owed to a caller who left the line keeping their place. */
  callback: (inboundCallSid: string) => `callback-${inboundCallSid}`,
  /** The status polls of one call job. */
  trackCall: (callJobId: string) => `track-${callJobId}`,
} as const;

/** A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. */
export function timeOrderedUuid(now = Date.now()): string {
  // randomUUID draws from a pool of entropy (randomBytes per id costs a system call): its version 4
  // id keeps its variant and 74 random bits; the first 48 bits become the time, the version 7.
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
