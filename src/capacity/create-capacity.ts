import type { RedisConnection as Redis } from '../lib/redis.js';
import type { Config } from '../config.js';
import { callJobPolicy } from '../jobs/call-jobs.js';
import { createRedis } from '../lib/redis.js';
import { createCapacityService, type CapacityServiceDeps } from './capacity-service.js';
import { createCapacityStore } from './capacity-store.js';
import { createInboundService } from './inbound-service.js';
import { createPriorityNumbers } from './priority-numbers.js';

/**
 * Capacity from configuration: the slots (the face the rest of the service uses), inbound callers
 * and their line, and the numbers served first or last. The store stays inside.
 */
export function createCapacity(
  config: Readonly<Config>,
  redis: Redis,
  parts: Pick<CapacityServiceDeps, 'callQueue' | 'callRecords' | 'dialer' | 'logger'> & Pick<Parameters<typeof createInboundService>[0], 'callbackRequested'>,
) {
  const store = createCapacityStore(redis, { prefix: config.QUEUE_PREFIX, maxSlots: config.MAX_CONCURRENT_CALLS, leaseMs: config.CAPACITY_LEASE_SECONDS * 1000 });
  const capacity = createCapacityService({
    ...parts,
    store,
    jobPolicy: callJobPolicy(config),
    publicBaseUrl: config.apiBaseUrl,
    subscriber: () => createRedis(config.redis, 'consumer', 'capacity-events'),
  });
  const priorities = createPriorityNumbers(redis, config.QUEUE_PREFIX, config.VIP_NUMBERS);
  const inbound = createInboundService({
    capacity,
    line: store,
    priorities,
    options: {
      // Without AGENT_DIAL_TARGET (dialing through Twilio) inbound callers reach no agent; the name says so in Twilio's logs.
      agentTarget: config.agentDialTarget ?? 'sip:agent@voice-agent.invalid',
      queueName: config.TWILIO_QUEUE_NAME,
      holdMusicUrl: config.HOLD_MUSIC_URL,
      callbackThresholdSeconds: config.CALLBACK_THRESHOLD_SECONDS,
    },
    ...(parts.callbackRequested && { callbackRequested: parts.callbackRequested }),
    logger: parts.logger,
  });
  return { capacity, inbound, priorities };
}
