import type { CallEvent } from './call-status.js';

/** What a call does once answered: TwiML given with the dial, or a URL the carrier asks (once it knows who answered). */
export type CallAnswer = { twiml: string } | { url: string };

/** A request to place one outbound call. */
export interface PlaceCallRequest {
  to: string;
  from: string;
  answer: CallAnswer;
  /** Where the carrier reports call progress, when it can reach this service. */
  statusCallbackUrl?: string;
  /** Answering-machine detection: `Enable`, or `DetectMessageEnd` to wait for the beep. */
  machineDetection?: 'Enable' | 'DetectMessageEnd';
  /** With detection: the answer runs at once and who answered is posted here later (Twilio's AsyncAmd). */
  asyncAmdCallbackUrl?: string;
  /** Seconds to let the phone ring before giving up as no-answer. */
  timeoutSeconds?: number;
  record?: boolean;
  /** The longest the call may last, in seconds. */
  timeLimitSeconds?: number;
}

export interface PlacedCall {
  sid: string;
  /** The carrier's status at acceptance, usually `queued`. */
  status: string;
}

/** A call the carrier already has, found when a dial's response was lost. */
export interface FoundCall {
  sid: string;
  status: string;
  createdAt: Date;
}

/** The one seam between the workers and a telephone network. */
export interface Carrier {
  readonly name: 'twilio' | 'simulated';
  placeCall(request: PlaceCallRequest): Promise<PlacedCall>;
  /** The call's current state, for when no status callbacks can arrive. */
  fetchCall?(sid: string): Promise<CallEvent>;
  /** Calls to `to` from `from` created since `since`: finds a call whose dial response was lost. */
  findCalls?(query: { to: string; from: string; since: Date }): Promise<FoundCall[]>;
  /** Hangs up a call (one that outlived the longest allowed duration, or met an answering machine). */
  endCall?(sid: string): Promise<void>;
  /** Replaces what a live call is doing with `twiml`; false when the call has already ended. */
  redirectCall?(sid: string, twiml: string): Promise<boolean>;
  /** Takes a waiting caller out of a carrier queue to the TwiML at `url`; false when they already left. */
  redirectQueueMember?(queueSid: string, callSid: string, url: string): Promise<boolean>;
  /**
   * Checks the account before the first call (and opens the connection, so the first dial is as
   * quick as the rest). Resolves with a line to log; throws a DialError when the carrier refuses.
   */
  verify?(): Promise<string>;
  /** Lets calls in flight finish their reporting before the process exits. */
  close?(): Promise<void>;
}

export interface DialErrorOptions {
  /** May pass on a later attempt (rate limits, outages, timeouts). */
  retryable: boolean;
  /** The request may have reached the carrier and created a call despite the error. */
  ambiguous?: boolean;
  code?: string | number;
  httpStatus?: number;
  /** The carrier asked to wait this long before trying again. */
  retryAfterMs?: number;
}

/** A failed dial, classified so the worker knows whether to retry, and whether to look first. */
export class DialError extends Error {
  readonly retryable: boolean;
  readonly ambiguous: boolean;
  readonly code?: string | number;
  readonly httpStatus?: number;
  readonly retryAfterMs?: number;

  constructor(message: string, options: DialErrorOptions) {
    super(message);
    this.name = 'DialError';
    this.retryable = options.retryable;
    this.ambiguous = options.ambiguous ?? false;
    this.code = options.code;
    this.httpStatus = options.httpStatus;
    this.retryAfterMs = options.retryAfterMs;
  }
}
