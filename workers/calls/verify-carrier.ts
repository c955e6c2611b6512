import { DialError, type Carrier } from '../../src/carriers/carrier.js';
import type { Logger } from '../../src/logger.js';

/**
 * Refuses to start with credentials the carrier rejects: every call would fail. Any other problem
 * (the carrier unreachable for now) is logged, and calls are retried as usual.
 */
export async function verifyCarrier(dialer: Carrier, logger: Logger): Promise<void> {
  if (!dialer.verify) return;
  try {
    logger.info(await dialer.verify());
  } catch (error) {
    if (error instanceof DialError && (error.httpStatus === 401 || error.httpStatus === 403)) {
      throw new Error(`The carrier rejected the credentials: ${error.message}`, { cause: error });
    }
    logger.warn({ err: error }, 'could not verify the carrier account; starting anyway');
  }
}
