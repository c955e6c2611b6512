import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dialer } from './dialer.js';

/**
 * Places no real call: after a short, carrier-like pause it accepts the call and returns a
 * Twilio-shaped SID, so the whole service runs with no account.
 */
export function createSimulatedDialer(options: { latencyMs: number }): Dialer {
  return {
    name: 'simulated',
    async placeCall() {
      if (options.latencyMs > 0) await sleep(options.latencyMs);
      return { sid: `CA${randomBytes(16).toString('hex')}`, status: 'queued' };
    },
  };
}
