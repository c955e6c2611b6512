/**
 * The Twilio stand-in in a process of its own, as a carrier would be: arrival times are taken on a
 * clock no worker's pauses can hold up. Prints its URL; `GET /arrivals` answers the arrival times.
 */
import { startTwilioLatencyStandIn } from '../support/twilio-latency-stand-in.js';

const standIn = await startTwilioLatencyStandIn(Number(process.env.LATENCY_MS ?? 0));
console.log(standIn.url);
process.once('SIGTERM', () => void standIn.close().then(() => process.exit(0)));
