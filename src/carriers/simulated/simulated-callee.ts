import type { PlaceCallRequest } from '../carrier.js';

/**
 * Who or what answers a simulated call, chosen by the last four digits of the number called, so
 * every outcome can be tried with `npm start` and no account. Anything else: a person answers.
 */
export const SIMULATED_OUTCOMES = {
  '9001': 'busy',
  '9002': 'no-answer',
  '9003': 'failed',
  '9004': 'invalid-number',
  '9005': 'voicemail',
  '9006': 'carrier-outage-once',
  '9007': 'fax',
  '9008': 'silence',
  '9009': 'opts-out',
} as const;
export type Scenario = (typeof SIMULATED_OUTCOMES)[keyof typeof SIMULATED_OUTCOMES] | 'answered';

export const scenarioFor = (to: string): Scenario => SIMULATED_OUTCOMES[to.slice(-4) as keyof typeof SIMULATED_OUTCOMES] ?? 'answered';

/** The key a person who wants no more calls presses when offered (OPT_OUT_DIGIT). */
export const pressesToOptOut = (scenario: Scenario) => scenario === 'opts-out';

/** How long (virtual ms) a person stays on with an agent, or a voicemail box records, before hanging up. */
export const TALK_MS = 8_000;

/** About 150 words a minute, and never less than two seconds. */
export const speechMs = (text: string) => Math.max(2_000, text.split(/\s+/).length * 400);

/**
 * What answering-machine detection reports for each answerer, and after how long (virtual ms):
 * a person is known at once; a machine by its greeting (`Enable`) or by the beep that ends it
 * (`DetectMessageEnd`); silence ends in `unknown` when detection gives up.
 */
export function detectionFor(scenario: Scenario, mode: NonNullable<PlaceCallRequest['machineDetection']>): { answeredBy: string; afterMs: number } {
  switch (scenario) {
    case 'voicemail':
      return mode === 'DetectMessageEnd' ? { answeredBy: 'machine_end_beep', afterMs: 5_000 } : { answeredBy: 'machine_start', afterMs: 2_500 };
    case 'fax':
      return { answeredBy: 'fax', afterMs: 2_000 };
    case 'silence':
      return { answeredBy: 'unknown', afterMs: 5_000 };
    default:
      return { answeredBy: 'human', afterMs: 1_500 };
  }
}
