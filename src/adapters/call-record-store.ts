import type { Redis } from 'ioredis';
import { CALL_QUEUE_NAME } from '../jobs/call-jobs.js';

/** What is known of a job's phone call, kept beside the job so both the API and workers can read it. */
export interface CallRecord {
  callSid?: string;
  callStatus?: string;
  dialedAt?: string;
}

export interface CallRecordStore {
  save(jobId: string, fields: CallRecord): Promise<void>;
  get(jobId: string): Promise<CallRecord | undefined>;
  getMany(jobIds: string[]): Promise<Array<CallRecord | undefined>>;
  remove(jobIds: string[]): Promise<void>;
}

/**
 * A Redis hash per job rather than the job's own data: field writes are atomic, so the worker and
 * the API never overwrite each other's updates. Records expire with the longest job retention.
 */
export function createCallRecordStore(redis: Redis, prefix: string, ttlSeconds: number): CallRecordStore {
  const keyOf = (jobId: string) => `${prefix}:${CALL_QUEUE_NAME}:call-record:${jobId}`;
  const toRecord = (hash: Record<string, string>): CallRecord | undefined =>
    Object.keys(hash).length === 0 ? undefined : (hash as CallRecord);

  return {
    async save(jobId, fields) {
      const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
      if (entries.length === 0) return;
      await redis.multi().hset(keyOf(jobId), Object.fromEntries(entries)).expire(keyOf(jobId), ttlSeconds).exec();
    },
    async get(jobId) {
      return toRecord(await redis.hgetall(keyOf(jobId)));
    },
    async getMany(jobIds) {
      if (jobIds.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const jobId of jobIds) pipeline.hgetall(keyOf(jobId));
      const results = (await pipeline.exec()) ?? [];
      return results.map(([error, hash]) => {
        if (error) throw error;
        return toRecord(hash as Record<string, string>);
      });
    },
    async remove(jobIds) {
      if (jobIds.length > 0) await redis.del(...jobIds.map(keyOf));
    },
  };
}
