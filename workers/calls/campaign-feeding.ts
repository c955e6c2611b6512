import type { CampaignFeeder } from '../../src/campaigns/campaign-feeder.js';
import type { Logger } from '../../src/logger.js';

/** Feeds campaign contacts to the call queue every `everyMs` (at once again while there is room and contacts). */
export function startCampaignFeeding(feeder: Pick<CampaignFeeder, 'feedOnce'>, everyMs: number, logger: Logger) {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  const run = () => {
    round = (async () => {
      let fed = 0;
      try {
        fed = await feeder.feedOnce();
      } catch (error) {
        logger.warn({ err: error }, 'campaign contacts could not be fed; trying again shortly');
      }
      if (!stopped) timer = setTimeout(run, fed > 0 ? 0 : everyMs);
    })();
  };
  run();
  return {
    async close() {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
