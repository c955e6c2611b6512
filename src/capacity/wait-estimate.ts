/** With no history yet, a call is assumed to take five minutes. */
export const DEFAULT_HANDLE_SECONDS = 300;

/**
 * Seconds until the caller at `position` is connected: one average handle time per caller ahead,
 * shared across the slots, always rounded up.
 */
export function estimateWaitSeconds(position: number, averageHandleSeconds: number | undefined, slots: number): number {
  return Math.ceil((position * (averageHandleSeconds ?? DEFAULT_HANDLE_SECONDS)) / Math.max(1, slots));
}

/** The phrasing callers hear. Minutes are rounded up: a pleasant surprise beats a broken promise. */
export function describeWait(seconds: number): string {
  if (seconds < 60) return 'less than a minute';
  const minutes = Math.ceil(seconds / 60);
  if (minutes === 1) return 'about 1 minute';
  if (minutes < 5) return `about ${minutes} minutes`;
  if (minutes < 10) return '5 to 10 minutes';
  return 'more than 10 minutes';
}
