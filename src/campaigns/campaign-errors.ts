import { AppError, conflict } from '../errors.js';

export const campaignNotFound = (campaignId: string) => new AppError(404, 'CAMPAIGN_NOT_FOUND', `No campaign with id ${campaignId}`);

export const campaignStateConflict = (campaignId: string, state: string, action: string) =>
  conflict('CAMPAIGN_STATE_CONFLICT', `Campaign ${campaignId} is ${state}: it cannot ${action}`);

/** Runs a campaign script whose errors name a missing campaign (NOCAMPAIGN) or its state (STATE <state>), as the API's 404 and 409. */
export async function campaignScript<T>(campaignId: string, action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const message = (error as Error).message ?? '';
    if (message.includes('NOCAMPAIGN')) throw campaignNotFound(campaignId);
    const state = /STATE (\w+)/.exec(message)?.[1];
    if (state) throw campaignStateConflict(campaignId, state, action);
    throw error;
  }
}
