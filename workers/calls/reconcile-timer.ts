import type { CapacityService } from '../../src/capacity/capacity-service.js';
import type { Logger } from '../../src/logger.js';

/** Repairs slot drift every `everyMs`, one process at a time however many run this. */
export function startReconcileTimer(capacity: Pick<CapacityService, 'reconcileInTurn'>, everyMs: number, logger: Logger) {
  const timer = setInterval(async () => {
    try {
      await capacity.reconcileInTurn(everyMs);
    } catch (error) {
      logger.warn({ err: error }, 'capacity reconciliation failed; it runs again shortly');
    }
  }, everyMs);
  return { close: () => clearInterval(timer) };
}
