import type { RedisConnection as Redis } from '../lib/redis.js';
import { redisScript } from '../lib/redis.js';
import type { ReplicaAcknowledgement, ReplicaShortfall } from '../lib/redis-replication.js';
import { CALL_QUEUE_NAME, type AnswerAction } from '../jobs/call-jobs.js';
import { CALL_STATUS_RANK, isFinalCallStatus, type CallEvent } from '../carriers/call-status.js';

/** What is known of a job's phone call, kept beside the job so the API and workers can both write it. */
export interface CallRecord {
  callSid?: string;
  callStatus?: string;
  /** True once the call reached a final status. */
  final: boolean;
  timeline: Array<{ status: string; at: string }>;
  /** When the last dial request was sent: a request that may have created a call. */
  dialedAt?: string;
  placedAt?: string;
  endedAt?: string;
  durationSeconds?: number;
  answeredBy?: string;
  sipResponseCode?: number;
  errorCode?: string;
  errorMessage?: string;
  /** The job that dials this call again, when its outcome asked for a redial. */
  redialJobId?: string;
  /** Which attempt of the job placed the call. */
  placedAttempt?: number;
  /** What the call did once it was known who answered (answering-machine policy). */
  answerAction?: AnswerAction;
  /** The contactability gate's last decision on this job. */
  gate?: GateRecord;
}

/** A decision of the contactability gate, as the job keeps it. */
export interface GateRecord {
  decision: 'dial' | 'defer' | 'refuse';
  reason: string;
  until?: string;
  at: string;
}

export type StatusChange = 'ignored' | 'applied' | 'final';

export interface CallRecordStore {
  markDialing(jobId: string, at: Date): Promise<void>;
  /** The last dial request certainly created no call (refused, rate limited): nothing to look up. */
  clearDialing(jobId: string): Promise<void>;
  /** Stores the SID the moment the carrier returns it, and claims it for this job. */
  recordPlaced(jobId: string, callSid: string, attempt: number, event: CallEvent): Promise<void>;
  /** Applies a status if it moves the call forward; repeats and stale events change nothing. */
  applyStatus(jobId: string, event: CallEvent): Promise<StatusChange>;
  setRedialJob(jobId: string, redialJobId: string): Promise<void>;
  /**
   * Notes who answered and what the call does about it. The first verdict stands: a webhook the
   * carrier sends again gets the same answer. Returns the action in force.
   */
  recordAnswer(jobId: string, answer: { answeredBy: string; action: AnswerAction }): Promise<AnswerAction>;
  /** Keeps the gate's latest decision on the job. */
  recordGate(jobId: string, gate: GateRecord): Promise<void>;
  /** A counter per job that orders its call log writes. */
  nextLogVersion(jobId: string): Promise<number>;
  get(jobId: string): Promise<CallRecord | undefined>;
  getMany(jobIds: string[]): Promise<Array<CallRecord | undefined>>;
  jobIdForSid(callSid: string): Promise<string | undefined>;
  remove(jobIds: string[]): Promise<void>;
  /**
   * Waits until this store's writes so far are on the wanted replicas (a dial's marker and SID must
   * survive a failover); the shortfall when the bounded wait ran out first.
   */
  confirmReplicated?(): Promise<ReplicaShortfall | undefined>;
}

/**
 * Applies a status to the record at `key` if it moves the call forward. `args` from `from` on:
 * status, rank, at, final (0/1), ttl, call SID or '', then field/value pairs. Returns 0 when the
 * event is stale, repeated or about another call, 1 when applied, 2 when it made the call final.
 */
const APPLY_STATUS_FUNCTION = `
local function applyStatus(key, args, from)
  local status, rank, at, final, ttl, sid = args[from], tonumber(args[from + 1]), args[from + 2], args[from + 3], tonumber(args[from + 4]), args[from + 5]
  local current = tonumber(redis.call('HGET', key, 'rank') or '-1')
  if rank <= current then return 0 end
  local known = redis.call('HGET', key, 'callSid')
  if sid ~= '' and known and known ~= sid then return 0 end
  local timeline = cjson.decode(redis.call('HGET', key, 'timeline') or '[]')
  -- Carriers stamp events to the second; our own stamps have milliseconds. An event stamped within
  -- the second of the status before it happened after it, whatever the truncated stamp says.
  local previous = timeline[#timeline]
  if previous and at < previous.at and string.sub(at, 1, 19) == string.sub(previous.at, 1, 19) then at = previous.at end
  table.insert(timeline, { status = status, at = at })
  redis.call('HSET', key, 'callStatus', status, 'rank', rank, 'timeline', cjson.encode(timeline))
  for i = from + 6, #args, 2 do redis.call('HSET', key, args[i], args[i + 1]) end
  redis.call('EXPIRE', key, ttl)
  if final == '1' then
    redis.call('HSET', key, 'final', '1', 'endedAt', at)
    return 2
  end
  return 1
end
`;

/** KEYS[1] record hash. ARGV: applyStatus's. */
const APPLY_STATUS = `${APPLY_STATUS_FUNCTION}
return applyStatus(KEYS[1], ARGV, 1)
`;

/**
 * Stores the SID the carrier returned, claims it for the job, and applies the call's first status,
 * in one step. KEYS: record hash, SID index. ARGV: job id, attempt, then applyStatus's.
 */
const RECORD_PLACED = `${APPLY_STATUS_FUNCTION}
local sid, at, ttl = ARGV[8], ARGV[5], tonumber(ARGV[7])
redis.call('HSET', KEYS[1], 'callSid', sid, 'placedAt', at, 'placedAttempt', ARGV[2])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], ARGV[1], 'EX', ttl)
local applied = applyStatus(KEYS[1], ARGV, 3)
if applied == 0 and redis.call('HGET', KEYS[1], 'callSid') == sid then
  -- The carrier's first callback came before its answer to the dial: the answer's status still
  -- happened first, and goes first in the timeline.
  local timeline = cjson.decode(redis.call('HGET', KEYS[1], 'timeline') or '[]')
  local seen = false
  for _, entry in ipairs(timeline) do if entry.status == ARGV[3] then seen = true end end
  if not seen and #timeline > 0 then
    local stamp = at
    if timeline[1].at < stamp then stamp = timeline[1].at end
    table.insert(timeline, 1, { status = ARGV[3], at = stamp })
    redis.call('HSET', KEYS[1], 'timeline', cjson.encode(timeline))
  end
end
return applied
`;

/** KEYS[1] record hash. ARGV: ttl. */
const NEXT_LOG_VERSION = `
local version = redis.call('HINCRBY', KEYS[1], 'logVersion', 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return version
`;

/** KEYS[1] record hash. ARGV: answered by, action, ttl. Returns the action in force. */
const RECORD_ANSWER = `
if redis.call('HSETNX', KEYS[1], 'answerAction', ARGV[2]) == 1 then
  redis.call('HSET', KEYS[1], 'answeredBy', ARGV[1])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return redis.call('HGET', KEYS[1], 'answerAction')
`;

/** KEYS[1] record hash. ARGV: the time of the dial, ttl. */
const MARK_DIALING = `
redis.call('HSET', KEYS[1], 'dialedAt', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
`;

const eventFields = (event: CallEvent): string[] =>
  Object.entries({
    durationSeconds: event.durationSeconds,
    answeredBy: event.answeredBy,
    sipResponseCode: event.sipResponseCode,
    errorCode: event.errorCode,
    errorMessage: event.errorMessage,
  }).flatMap(([field, value]) => (value === undefined ? [] : [field, String(value)]));

function toRecord(hash: Record<string, string>): CallRecord | undefined {
  if (Object.keys(hash).length === 0) return undefined;
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  return {
    ...(hash.callSid && { callSid: hash.callSid }),
    ...(hash.callStatus && { callStatus: hash.callStatus }),
    final: hash.final === '1',
    timeline: JSON.parse(hash.timeline ?? '[]') as CallRecord['timeline'],
    ...(hash.dialedAt && { dialedAt: hash.dialedAt }),
    ...(hash.placedAt && { placedAt: hash.placedAt }),
    ...(hash.endedAt && { endedAt: hash.endedAt }),
    ...(hash.durationSeconds && { durationSeconds: number(hash.durationSeconds) }),
    ...(hash.answeredBy && { answeredBy: hash.answeredBy }),
    ...(hash.sipResponseCode && { sipResponseCode: number(hash.sipResponseCode) }),
    ...(hash.errorCode && { errorCode: hash.errorCode }),
    ...(hash.errorMessage && { errorMessage: hash.errorMessage }),
    ...(hash.redialJobId && { redialJobId: hash.redialJobId }),
    ...(hash.placedAttempt && { placedAttempt: number(hash.placedAttempt) }),
    ...(hash.answerAction && { answerAction: hash.answerAction as AnswerAction }),
    ...(hash.gate && { gate: JSON.parse(hash.gate) as GateRecord }),
  };
}

/**
 * A Redis hash per job rather than the job's own data: field writes and status transitions are
 * atomic, so workers, callbacks and polls never overwrite each other. Records and the SID index
 * expire with the longest job retention.
 */
export function createCallRecordStore(redis: Redis, prefix: string, ttlSeconds: number, replicas?: ReplicaAcknowledgement): CallRecordStore {
  const base = `${prefix}:${CALL_QUEUE_NAME}`;
  const keyOf = (jobId: string) => `${base}:call-record:${jobId}`;
  const sidKey = (callSid: string) => `${base}:call-sid:${callSid}`;
  const scripts = {
    applyStatus: redisScript(redis, 'switchboardApplyCallStatus', 1, APPLY_STATUS),
    recordPlaced: redisScript(redis, 'switchboardRecordCallPlaced', 2, RECORD_PLACED),
    markDialing: redisScript(redis, 'switchboardMarkDialing', 1, MARK_DIALING),
    nextLogVersion: redisScript(redis, 'switchboardNextLogVersion', 1, NEXT_LOG_VERSION),
    recordAnswer: redisScript(redis, 'switchboardRecordAnswer', 1, RECORD_ANSWER),
  };
  const statusArgs = (event: CallEvent) => [
    event.status,
    CALL_STATUS_RANK[event.status] ?? -1,
    event.at,
    isFinalCallStatus(event.status) ? '1' : '0',
    ttlSeconds,
    event.callSid ?? '',
    ...eventFields(event),
  ];
  const applyStatus = async (jobId: string, event: CallEvent) => Number(await scripts.applyStatus(keyOf(jobId), ...statusArgs(event)));

  return {
    async markDialing(jobId, at) {
      await scripts.markDialing(keyOf(jobId), at.toISOString(), ttlSeconds);
    },
    async clearDialing(jobId) {
      await redis.hdel(keyOf(jobId), 'dialedAt');
    },
    async recordPlaced(jobId, callSid, attempt, event) {
      await scripts.recordPlaced(keyOf(jobId), sidKey(callSid), jobId, attempt, ...statusArgs({ ...event, callSid }));
    },
    async applyStatus(jobId, event) {
      if (CALL_STATUS_RANK[event.status] === undefined) return 'ignored';
      const result = await applyStatus(jobId, event);
      return result === 2 ? 'final' : result === 1 ? 'applied' : 'ignored';
    },
    async setRedialJob(jobId, redialJobId) {
      await redis.hset(keyOf(jobId), 'redialJobId', redialJobId);
    },
    async recordAnswer(jobId, { answeredBy, action }) {
      return (await scripts.recordAnswer(keyOf(jobId), answeredBy, action, ttlSeconds)) as AnswerAction;
    },
    async recordGate(jobId, gate) {
      await redis.pipeline().hset(keyOf(jobId), 'gate', JSON.stringify(gate)).expire(keyOf(jobId), ttlSeconds).exec();
    },
    async nextLogVersion(jobId) {
      return Number(await scripts.nextLogVersion(keyOf(jobId), ttlSeconds));
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
    async jobIdForSid(callSid) {
      return (await redis.get(sidKey(callSid))) ?? undefined;
    },
    async remove(jobIds) {
      if (jobIds.length === 0) return;
      const sids = await redis.pipeline(jobIds.map((jobId) => ['hget', keyOf(jobId), 'callSid'])).exec();
      const sidKeys = (sids ?? []).map(([, sid]) => sid).filter((sid): sid is string => typeof sid === 'string').map(sidKey);
      await redis.del(...jobIds.map(keyOf), ...sidKeys);
    },
    confirmReplicated: async () => replicas?.confirm(),
  };
}
