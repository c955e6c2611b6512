import type { Config } from '../config.js';
import type { ContactRules } from './contact-rules.js';

/** The rules configuration sets for every call. */
export const contactRules = (config: Pick<Readonly<Config>, 'CALLING_WINDOW' | 'BLACKOUT_DATES' | 'FREQUENCY_CAP' | 'MIN_GAP_MINUTES'>): ContactRules => ({
  window: { rules: config.CALLING_WINDOW, blackoutDates: config.BLACKOUT_DATES },
  frequency: { caps: config.FREQUENCY_CAP ? [config.FREQUENCY_CAP] : [], minGapMs: config.MIN_GAP_MINUTES * 60_000 },
});
