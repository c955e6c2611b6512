import { z } from 'zod';
import { ANSWER_ACTIONS, CONNECT_MODES, REDIAL_OUTCOMES } from './jobs/call-choices.js';
import { SIMULATED_AGENT_DIAL_TARGET, simulatedAgentStreamUrl } from './carriers/twilio/webhook-paths.js';
import { parseCallingWindow } from './contact/calling-window.js';
import { DEFAULT_CALLING_WINDOW, isCalendarDate, parseFrequencyCap } from './contact/contact-rules.js';
import { hasHashTag, parseNodeList, type RedisNode, type RedisTarget } from './lib/redis-target.js';

const DAY_MS = 24 * 60 * 60 * 1000;

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const url = z.url({ protocol: /^https?$/ });
const webSocketUrl = z.url({ protocol: /^wss?$/, error: 'must be a ws:// or wss:// URL' });
const answerAction = z.enum(ANSWER_ACTIONS);

/** Every variable Switchboard reads. Defaults follow the outbound contract (seed 002). */
const envSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The API binds loopback unless told otherwise. */
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  /** Keys that may schedule and read, comma-separated (sent as `Authorization: Bearer <key>`). */
  API_KEYS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean)),
  /** Keys that may also pause, resume, clean, cancel, retry, and manage capacity and caller priorities. */
  ADMIN_API_KEYS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean)),
  /** Requests one API key (or address, without keys) may make to /api per window; 429 past it. */
  API_RATE_LIMIT_MAX: positiveInt.default(600),
  API_RATE_LIMIT_WINDOW_MS: positiveInt.default(60_000),
  /** How Redis is deployed: one server (REDIS_URL), a Redis Cluster, or a master watched by Sentinels. */
  REDIS_MODE: z.enum(['standalone', 'cluster', 'sentinel']).default('standalone'),
  /**
   * Standalone: where Redis is; unset, 127.0.0.1:6379, or a private redis-server started when
   * nothing answers there. Cluster and Sentinel: read only for its user, password and `rediss:`.
   */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Cluster: some of its nodes, `host:port,...`; the rest are discovered from them. */
  REDIS_CLUSTER_NODES: z.string().optional(),
  /** Sentinel: the Sentinels, `host:port,...`, and the name they know the master by. */
  REDIS_SENTINELS: z.string().optional(),
  REDIS_SENTINEL_NAME: z.string().min(1).optional(),
  /** Sentinel: the Sentinels' own password, when they require one (not the master's). */
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  /** The ACL user and password of Redis itself (override those in REDIS_URL). */
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** TLS to Redis (and to the Sentinels); `rediss://` in REDIS_URL says the same. Default false. */
  REDIS_TLS: z.stringbool().optional(),
  /** Prefix of every Redis key; on Redis Cluster it must carry a hash tag such as `{switchboard}`. */
  QUEUE_PREFIX: z.string().min(1).default('switchboard'),
  /**
   * Replicas that must hold an accepted call (Redis `WAIT`) before the API answers 201, and that must
   * hold a dial's marker and SID before the worker goes on. Unset: 1 whenever the Redis has a replica
   * connected; 0: never wait. Not used on Redis Cluster.
   */
  REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).max(16).optional(),
  /** How long that wait may take: past it the API answers 503, and a worker logs a warning and goes on. Default 1000. */
  REDIS_WAIT_TIMEOUT_MS: positiveInt.max(60_000).default(1_000),
  /** How long a process waits at start for Redis to answer before it exits 1 saying so. */
  REDIS_STARTUP_WAIT_MS: positiveInt.default(10_000),

  CALL_WORKER_CONCURRENCY: positiveInt.default(5),
  /** A worker process serves its own Prometheus metrics on this port (unset: none). */
  WORKER_METRICS_PORT: port.optional(),
  CALL_RATE_MAX: positiveInt.default(10),
  CALL_RATE_WINDOW_MS: positiveInt.default(60_000),
  CALL_ATTEMPTS: positiveInt.default(3),
  CALL_BACKOFF_MS: positiveInt.default(2_000),
  /** How long a worker holds a call it is dialing; a crashed worker's calls are taken over after about this long. */
  CALL_LOCK_DURATION_MS: positiveInt.min(1_000).default(30_000),

  /** How far ahead a delayed call may be scheduled. */
  MAX_SCHEDULE_AHEAD_MS: positiveInt.default(365 * DAY_MS),
  /** Cron schedules that fire more often than this are refused. */
  RECURRING_MIN_INTERVAL_SECONDS: positiveInt.default(60),
  BULK_MAX_CALLS: positiveInt.max(100_000).default(10_000),
  /**
   * Campaign contacts fed to the call queue ahead of the workers, across campaigns: enough to keep
   * them busy, few enough that a pause or another campaign's share takes effect at once and a single
   * call waits behind a second of dials at most. Default: a second of the dial rate, and at least
   * twice CALL_WORKER_CONCURRENCY.
   */
  CAMPAIGN_HOPPER_SIZE: positiveInt.max(100_000).optional(),
  /** How often each worker feeds campaign contacts to the call queue. */
  CAMPAIGN_FEED_INTERVAL_MS: positiveInt.max(10_000).default(100),
  BODY_LIMIT_BYTES: positiveInt.default(8 * 1024 * 1024),
  METADATA_MAX_BYTES: positiveInt.default(8 * 1024),
  /** Finished jobs are trimmed after these ages, and past these counts, so Redis stays bounded. */
  KEEP_COMPLETED_JOBS_HOURS: positiveInt.default(7 * 24),
  KEEP_FAILED_JOBS_HOURS: positiveInt.default(30 * 24),
  KEEP_COMPLETED_JOBS_MAX: positiveInt.default(100_000),
  KEEP_FAILED_JOBS_MAX: positiveInt.default(100_000),

  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be AC followed by 32 hex digits').optional(),
  TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  TWILIO_PHONE_NUMBER: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +14155550100').optional(),
  /** Where the Twilio SDK sends requests: a proxy, or a stand-in in tests. */
  TWILIO_API_BASE_URL: url.default('https://api.twilio.com'),
  TWILIO_TIMEOUT_MS: positiveInt.default(15_000),
  /** Public base URL of this API, for Twilio's status callbacks. */
  PUBLIC_URL: url.optional(),
  /** Call outcomes that are dialed again, comma-separated (busy, no-answer, failed, machine), or `none`. */
  REDIAL_ON: z
    .string()
    .default('busy,no-answer')
    .transform((value) => (value.trim() === 'none' ? [] : value.split(',').map((item) => item.trim()).filter(Boolean)))
    .pipe(z.array(z.enum(REDIAL_OUTCOMES))),
  REDIAL_MAX: z.coerce.number().int().min(0).max(10).default(2),
  REDIAL_DELAY_MS: z.coerce.number().int().min(0).default(10 * 60_000),
  /** When calls may be placed, in the called person's local time: `Mon-Fri 09:00-20:00,Sat 10:00-18:00`. */
  CALLING_WINDOW: z
    .string()
    .default(DEFAULT_CALLING_WINDOW)
    .transform((value, ctx) => {
      const rules = parseCallingWindow(value);
      if (typeof rules === 'string') {
        ctx.addIssue({ code: 'custom', message: rules });
        return z.NEVER;
      }
      return rules;
    }),
  /** Local dates with no calls at all, comma-separated YYYY-MM-DD. */
  BLACKOUT_DATES: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean))
    .refine((dates) => dates.every(isCalendarDate), 'dates are YYYY-MM-DD, comma-separated'),
  /** At most this many dials to one number per window, across every worker: `3/24h` (unset: no cap). */
  FREQUENCY_CAP: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const cap = parseFrequencyCap(value);
      if (typeof cap === 'string') {
        ctx.addIssue({ code: 'custom', message: cap });
        return z.NEVER;
      }
      return cap;
    }),
  /** A `say` call offers "press 9 to stop these calls"; the key that puts the number on the do-not-call list (unset: no offer). */
  OPT_OUT_DIGIT: z.string().regex(/^[0-9*#]$/, 'one key: 0-9, * or #').optional(),
  /** What the offer says (default: "To stop these calls, press <digit>."). */
  OPT_OUT_PROMPT: z.string().trim().min(1).max(300).optional(),
  /** What a person who pressed the key hears before the call ends. */
  OPT_OUT_CONFIRMATION: z.string().trim().min(1).max(300).default('You will not be called again. Goodbye.'),
  /** The least time between two dials to one number (0: none). */
  MIN_GAP_MINUTES: z.coerce.number().int().min(0).max(366 * 24 * 60).default(0),
  /** Live calls at once, inbound and outbound together, across every process. */
  MAX_CONCURRENT_CALLS: positiveInt.default(10),
  /** A slot whose holder stops renewing it (a crashed process, a lost callback) is freed after this long. */
  CAPACITY_LEASE_SECONDS: positiveInt.default(600),
  /** How often workers repair slot drift against the carrier's live calls. */
  CAPACITY_RECONCILE_SECONDS: positiveInt.default(30),
  /** Where a caller is connected: the voice agent's number (E.164) or SIP URI (the simulated agent when absent with the simulated carrier). */
  AGENT_DIAL_TARGET: z
    .string()
    .regex(/^(\+[1-9]\d{6,14}|sips?:.+)$/, 'must be an E.164 number or a sip: URI')
    .optional(),
  /** The voice agent's Media Streams WebSocket (wss://), for `stream` calls (the simulated agent when absent with the simulated carrier). */
  AGENT_STREAM_URL: webSocketUrl.optional(),
  /** What an answered outbound call does when the request names no `connect`: say, agent or stream. */
  CALL_CONNECT_MODE: z.enum(CONNECT_MODES).default('say'),
  /** What a call does when a person answers, and when a machine does: connect, voicemail or hangup. */
  AMD_ON_HUMAN: answerAction.default('connect'),
  AMD_ON_MACHINE: answerAction.default('connect'),
  /** Left after the beep when a call's policy is `voicemail` and the call names no voicemailMessage (else its message). */
  VOICEMAIL_MESSAGE: z.string().trim().min(1).max(1000).optional(),
  /** Inbound numbers served first, comma-separated E.164 (more through the VIP API). */
  VIP_NUMBERS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean)),
  /** Callers waiting longer than this are offered a callback. */
  CALLBACK_THRESHOLD_SECONDS: positiveInt.default(300),
  HOLD_MUSIC_URL: url.default('http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3'),
  /** Name of the Twilio queue callers wait in. */
  TWILIO_QUEUE_NAME: z.string().min(1).max(64).default('switchboard'),
  /** Shared secret the voice agent sends (x-vapi-secret) with its end-of-call reports. */
  AGENT_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** Longest a call may last: Twilio's TimeLimit, and how long a call's status is polled. */
  MAX_CALL_DURATION_SECONDS: positiveInt.max(86_400).default(4 * 3600),
  /** First interval between status polls when no callbacks can arrive (no PUBLIC_URL); it grows. */
  STATUS_POLL_INTERVAL_MS: positiveInt.default(5_000),
  /** Caller id of the simulated carrier when a call names none. */
  SIMULATED_FROM_NUMBER: z.string().regex(/^\+[1-9]\d{6,14}$/).default('+15005550006'),
  SIMULATED_DIAL_LATENCY_MS: z.coerce.number().int().min(0).default(150),
  /** Speeds the simulated carrier's calls up (0.1: ten times faster) or slows them down. */
  SIMULATED_TIME_SCALE: z.coerce.number().positive().max(100).default(1),
  /** Where the simulated carrier posts call progress when workers run apart from the API (default: the API on loopback). */
  SIMULATED_CALLBACK_URL: url.optional(),
  /** Signs the simulated carrier's callbacks (it stands in for TWILIO_AUTH_TOKEN). */
  SIMULATED_AUTH_TOKEN: z.string().min(1).default('simulated-carrier-token'),

  /** Signs the console's session cookies; at least 32 characters. Unset: a random one per process (sessions end with it, and each API process has its own). */
  CONSOLE_SESSION_SECRET: z.string().min(32, 'must be at least 32 characters (openssl rand -base64 32)').optional(),
  /** How long a console login lasts. */
  CONSOLE_SESSION_MINUTES: positiveInt.max(7 * 24 * 60).default(12 * 60),
  /** production turns on the refusal of private webhook destinations by default. */
  NODE_ENV: z.string().optional(),
  /** One receiver of every event, beside those added through /api/webhooks (its secret: EVENTS_WEBHOOK_SECRET). */
  EVENTS_WEBHOOK_URL: url.optional(),
  /** The Standard Webhooks secret events to EVENTS_WEBHOOK_URL are signed with: `whsec_` and base64 of 24 to 64 random bytes. */
  EVENTS_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'must be whsec_ followed by base64 of at least 24 random bytes (openssl rand -base64 32)')
    .optional(),
  /** Whether webhooks may go to private, loopback and link-local addresses; default false when NODE_ENV=production, else true. */
  EVENTS_ALLOW_PRIVATE_DESTINATIONS: z.stringbool().optional(),
  /** How long one delivery request may take, connection to last byte. */
  EVENTS_DELIVERY_TIMEOUT_MS: positiveInt.max(120_000).default(10_000),
  /** Requests in flight per subscription, per worker process. */
  EVENTS_DELIVERY_CONCURRENCY: positiveInt.max(1_000).default(50),
  /** First wait before an event is sent again; it doubles (with jitter) up to EVENTS_RETRY_MAX_MS. */
  EVENTS_RETRY_BASE_MS: positiveInt.default(5_000),
  EVENTS_RETRY_MAX_MS: positiveInt.default(3_600_000),
  /** How long an event is retried before it is kept as failed. */
  EVENTS_RETRY_FOR_MS: positiveInt.default(DAY_MS),
  /** A subscription whose every delivery has failed for this long is disabled, with the reason. */
  EVENTS_DISABLE_AFTER_MS: positiveInt.default(5 * DAY_MS),
  /** How long events are kept for replay (and their ids for deduplication). */
  EVENTS_RETENTION_MS: positiveInt.default(3 * DAY_MS),

  SUPABASE_URL: url.optional(),
  /** While Supabase is away, the outbox retries each chunk of rows, backing off to at most this. */
  CALL_LOG_RETRY_MAX_MS: positiveInt.default(60_000),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
});

type Env = z.infer<typeof envSchema>;

export interface Config extends Env {
  carrier: 'twilio' | 'simulated';
  /**
   * Where status callbacks go: PUBLIC_URL, or for the simulated carrier this API on loopback.
   * Undefined when Twilio cannot reach this API, and call outcomes are polled instead.
   */
  callbackBaseUrl: string | undefined;
  /**
   * This API's own base URL: callbackBaseUrl, else this API on loopback. Webhook signatures are
   * checked against it, and the URLs handed to the carrier start with it.
   */
  apiBaseUrl: string;
  /** The token callbacks are signed with. */
  webhookAuthToken: string;
  /** False only with no keys at all, when the API serves loopback alone. */
  authRequired: boolean;
  /** Where Redis is and how to reach it, in every mode: what connections are built from. */
  redis: RedisTarget;
  /** Standalone: the URL connections use. */
  redisUrl: string;
  /** True when standalone with no REDIS_URL, so a private Redis may be started. */
  redisUrlDefaulted: boolean;
  /** AGENT_DIAL_TARGET, or the simulated agent with the simulated carrier; undefined when `agent` calls cannot be placed. */
  agentDialTarget: string | undefined;
  /** AGENT_STREAM_URL, or the simulated agent with the simulated carrier; undefined when `stream` calls cannot be placed. */
  agentStreamUrl: string | undefined;
  /** CAMPAIGN_HOPPER_SIZE, or its default from the dial rate and the concurrency. */
  campaignHopperSize: number;
  /** EVENTS_ALLOW_PRIVATE_DESTINATIONS, or its default from NODE_ENV. */
  eventsAllowPrivate: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** The address this machine's own processes reach the API at. */
const reachableHost = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host);

const TWILIO_CREDENTIALS = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_PHONE_NUMBER'] as const;

/** Parses the environment once; throws a ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, { servesApi = true }: { servesApi?: boolean } = {}): Readonly<Config> {
  // An empty assignment in .env (`REDIS_URL=`) means "unset", not "invalid".
  const env = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const values = parsed.data;

  const givenTwilio = TWILIO_CREDENTIALS.filter((name) => values[name] !== undefined);
  if (givenTwilio.length > 0 && givenTwilio.length < TWILIO_CREDENTIALS.length) {
    const missing = TWILIO_CREDENTIALS.filter((name) => values[name] === undefined);
    throw new ConfigError(missing.map((name) => `${name}: required when any Twilio credential is set`));
  }
  const noKeys = values.API_KEYS.length === 0 && values.ADMIN_API_KEYS.length === 0;
  // A worker binds HOST only for its metrics and health: it exposes no API.
  if (servesApi && noKeys && !isLoopback(values.HOST)) {
    throw new ConfigError([`HOST: ${values.HOST} would expose the API without keys; set API_KEYS and ADMIN_API_KEYS, or bind 127.0.0.1`]);
  }
  if ((values.SUPABASE_URL === undefined) !== (values.SUPABASE_SERVICE_ROLE_KEY === undefined)) {
    throw new ConfigError(['SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY: set both or neither']);
  }

  const redis = redisTarget(values);

  const carrier = givenTwilio.length > 0 ? 'twilio' : 'simulated';
  const callbackBaseUrl =
    values.PUBLIC_URL ?? (carrier === 'simulated' ? (values.SIMULATED_CALLBACK_URL ?? `http://${reachableHost(values.HOST)}:${values.PORT}`) : undefined);
  const apiBaseUrl = callbackBaseUrl ?? `http://127.0.0.1:${values.PORT}`;
  const simulated = carrier === 'simulated';
  const agentDialTarget = values.AGENT_DIAL_TARGET ?? (simulated ? SIMULATED_AGENT_DIAL_TARGET : undefined);
  const agentStreamUrl = values.AGENT_STREAM_URL ?? (simulated ? simulatedAgentStreamUrl(apiBaseUrl) : undefined);
  const connectProblems = [
    ...(!simulated && values.AGENT_STREAM_URL?.startsWith('ws:') ? ['AGENT_STREAM_URL: Twilio opens Media Streams over wss:// only'] : []),
    ...(values.CALL_CONNECT_MODE === 'agent' && !agentDialTarget ? ['AGENT_DIAL_TARGET: required with CALL_CONNECT_MODE=agent (the agent\'s number or sip: URI)'] : []),
    ...(values.CALL_CONNECT_MODE === 'stream' && !agentStreamUrl ? ['AGENT_STREAM_URL: required with CALL_CONNECT_MODE=stream (the agent\'s wss:// Media Streams URL)'] : []),
    ...(values.OPT_OUT_DIGIT && !callbackBaseUrl ? ['OPT_OUT_DIGIT: the key pressed is reported to PUBLIC_URL, which is not set'] : []),
    ...((values.AMD_ON_HUMAN !== 'connect' || values.AMD_ON_MACHINE !== 'connect') && !callbackBaseUrl
      ? ['AMD_ON_HUMAN/AMD_ON_MACHINE: a policy other than connect needs PUBLIC_URL, where Twilio asks what to do once it knows who answered']
      : []),
  ];
  if (connectProblems.length > 0) throw new ConfigError(connectProblems);
  if ((values.EVENTS_WEBHOOK_URL === undefined) !== (values.EVENTS_WEBHOOK_SECRET === undefined)) {
    throw new ConfigError(['EVENTS_WEBHOOK_URL and EVENTS_WEBHOOK_SECRET: set both or neither (the receiver verifies with the secret)']);
  }
  return Object.freeze({
    ...values,
    carrier,
    callbackBaseUrl,
    agentDialTarget,
    agentStreamUrl,
    campaignHopperSize: values.CAMPAIGN_HOPPER_SIZE ?? Math.max(2 * values.CALL_WORKER_CONCURRENCY, Math.ceil((values.CALL_RATE_MAX / values.CALL_RATE_WINDOW_MS) * 1_000)),
    eventsAllowPrivate: values.EVENTS_ALLOW_PRIVATE_DESTINATIONS ?? values.NODE_ENV !== 'production',
    // Without PUBLIC_URL nothing from outside can be verified; loopback callers still can be.
    apiBaseUrl,
    webhookAuthToken: values.TWILIO_AUTH_TOKEN ?? values.SIMULATED_AUTH_TOKEN,
    authRequired: !noKeys,
    redis,
    redisUrl: values.REDIS_URL ?? DEFAULT_REDIS_URL,
    redisUrlDefaulted: values.REDIS_MODE === 'standalone' && values.REDIS_URL === undefined,
  });
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The Redis deployment the variables describe, or a ConfigError naming each variable to fix. */
function redisTarget(values: Env): RedisTarget {
  const problems: string[] = [];
  const nodes = (name: 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS'): RedisNode[] => {
    const value = values[name];
    if (value === undefined) {
      problems.push(`${name}: required with REDIS_MODE=${values.REDIS_MODE} (host:port,host:port)`);
      return [];
    }
    const parsed = parseNodeList(value);
    if (typeof parsed === 'string') problems.push(`${name}: ${parsed}`);
    return typeof parsed === 'string' ? [] : parsed;
  };
  const unused = (names: Array<keyof Env>) =>
    names.filter((name) => values[name] !== undefined).forEach((name) => problems.push(`${name}: read only with REDIS_MODE=${name.includes('SENTINEL') ? 'sentinel' : 'cluster'}; REDIS_MODE is ${values.REDIS_MODE}`));

  const url = new URL(values.REDIS_URL ?? DEFAULT_REDIS_URL);
  const auth = {
    ...((values.REDIS_USERNAME ?? url.username) && { username: values.REDIS_USERNAME ?? decodeURIComponent(url.username) }),
    ...((values.REDIS_PASSWORD ?? url.password) && { password: values.REDIS_PASSWORD ?? decodeURIComponent(url.password) }),
    tls: values.REDIS_TLS ?? url.protocol === 'rediss:',
  };
  let target: RedisTarget;
  if (values.REDIS_MODE === 'cluster') {
    unused(['REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD']);
    target = { mode: 'cluster', nodes: nodes('REDIS_CLUSTER_NODES'), ...auth };
    if (!hasHashTag(values.QUEUE_PREFIX)) {
      problems.push(`QUEUE_PREFIX: "${values.QUEUE_PREFIX}" has no hash tag; on Redis Cluster every key of a queue must share one slot, so put a non-empty tag in braces, e.g. {switchboard}`);
    }
  } else if (values.REDIS_MODE === 'sentinel') {
    unused(['REDIS_CLUSTER_NODES']);
    const sentinels = nodes('REDIS_SENTINELS');
    if (values.REDIS_SENTINEL_NAME === undefined) problems.push('REDIS_SENTINEL_NAME: required with REDIS_MODE=sentinel (the master name the Sentinels monitor)');
    target = {
      mode: 'sentinel',
      sentinels,
      masterName: values.REDIS_SENTINEL_NAME ?? '',
      ...(values.REDIS_SENTINEL_PASSWORD && { sentinelPassword: values.REDIS_SENTINEL_PASSWORD }),
      ...auth,
    };
  } else {
    unused(['REDIS_CLUSTER_NODES', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD']);
    target = { mode: 'standalone', url: values.REDIS_URL ?? DEFAULT_REDIS_URL, ...auth };
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return target;
}
