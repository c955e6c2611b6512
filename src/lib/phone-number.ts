import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * Normalises an international number to E.164, or returns undefined when it is not a number a
 * person could have: wrong length for its country, no country code, letters.
 */
export function toE164(input: string): string | undefined {
  const trimmed = input.trim();
  if (!trimmed.startsWith('+') || /[a-z]/i.test(trimmed)) return undefined;
  const parsed = parsePhoneNumberFromString(trimmed);
  if (!parsed || !parsed.isPossible()) return undefined;
  return parsed.number;
}
