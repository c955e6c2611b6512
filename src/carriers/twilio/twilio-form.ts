import { z } from 'zod';

/** Twilio posts its webhooks as forms: every value a string, repeated keys as lists. */
export const formParams = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
export type FormParams = z.infer<typeof formParams>;

export const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export const numberOf = (value: string | string[] | undefined) => {
  const text = one(value);
  return text === undefined || text === '' || Number.isNaN(Number(text)) ? undefined : Number(text);
};
