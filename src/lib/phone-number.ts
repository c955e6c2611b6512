import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * Normalises an international number to E.164, or returns undefined when it is not a number a
 * person could have: wrong length for its country, no country code, letters.
 */
export function toE164(input: string): string | undefined {
  const known = normalised.get(input);
  if (known !== undefined || normalised.has(input)) return known;
  const e164 = parse(input);
  // Parsing with the full metadata is the costliest step of taking a call: campaigns and CRMs send the same numbers again.
  if (normalised.size >= REMEMBERED) normalised.clear();
  normalised.set(input, e164);
  return e164;
}

const REMEMBERED = 10_000;
const normalised = new Map<string, string | undefined>();

function parse(input: string): string | undefined {
  const trimmed = input.trim();
  if (!trimmed.startsWith('+') || /[a-z]/i.test(trimmed)) return undefined;
  const parsed = parsePhoneNumberFromString(trimmed);
  if (!parsed || !parsed.isPossible()) return undefined;
  return parsed.number;
}
