/** A request to place one outbound call. */
export interface PlaceCallRequest {
  to: string;
  from: string;
  message: string;
  /** Where the carrier reports call progress, when this service is reachable from outside. */
  statusCallbackUrl?: string;
}

export interface PlacedCall {
  sid: string;
  /** The carrier's status at acceptance, usually `queued`. */
  status: string;
}

/** The one seam between the worker and a telephone network. */
export interface Dialer {
  readonly name: 'twilio' | 'simulated' | string;
  placeCall(request: PlaceCallRequest): Promise<PlacedCall>;
  /**
   * Checks the account before the first call (and opens the connection, so the first dial is as
   * quick as the rest). Resolves with a line to log; throws a DialError when the carrier refuses.
   */
  verify?(): Promise<string>;
}

/**
 * A failed dial. `retryable` separates what may pass (rate limits, carrier outages, timeouts)
 * from what never will (an invalid number, a caller id the account may not use).
 */
export class DialError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly code?: string | number,
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'DialError';
  }
}
