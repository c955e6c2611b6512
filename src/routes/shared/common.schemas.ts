import { z } from 'zod';
import { toE164 } from '../../lib/phone-number.js';

/** A phone number as a client may write it (`+1 (415) 555-0123`), answered as E.164 (`+14155550123`). */
export const phoneNumberSchema = z
  .string()
  .max(32)
  .transform((value, ctx) => {
    const e164 = toE164(value);
    if (e164 === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a possible phone number; use E.164 such as +14155550123` });
      return z.NEVER;
    }
    return e164;
  });

/** A time the API answers with: ISO-8601 in UTC. */
export const isoTimeSchema = z.string().meta({ format: 'date-time' });

/** A time a client sends: ISO-8601 with Z or an offset. */
export const isoTimeInputSchema = z.iso.datetime({ offset: true });
