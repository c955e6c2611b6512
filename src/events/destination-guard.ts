import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Raised for a destination webhooks may not go to; the message says why. */
export class RefusedDestinationError extends Error {
  readonly code = 'DESTINATION_REFUSED';
}

/** Only public unicast addresses: not private, loopback, link-local, unique-local, multicast, reserved or unspecified. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

/** What a URL must be to receive events, whatever it resolves to: http(s), no credentials in it. */
export function urlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be http:// or https://';
  if (url.username || url.password) return 'must not carry a user or password (sign requests with the subscription secret instead)';
  return undefined;
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Refuses a URL whose host is, or resolves to, an address that is not public, unless private
 * destinations are allowed. Checked when a subscription is made; `guardedLookup` checks again at
 * every connection, so a name that later resolves inside the network is refused too.
 */
export async function checkDestination(text: string, allowPrivate: boolean): Promise<void> {
  const problem = urlProblem(text);
  if (problem) throw new RefusedDestinationError(`url ${problem}`);
  if (allowPrivate) return;
  const host = hostOf(new URL(text));
  const addresses = isIP(host) ? [host] : await resolveAll(host);
  const inside = addresses.find((address) => !isPublicAddress(address));
  if (inside) throw new RefusedDestinationError(`${host} is a private, loopback or link-local address (${inside}); set EVENTS_ALLOW_PRIVATE_DESTINATIONS=true to allow it`);
}

function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (error, addresses) => (error ? reject(new RefusedDestinationError(`${host} does not resolve (${error.code ?? error.message})`)) : resolve(addresses.map((each) => each.address)))),
  );
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http.request that refuses non-public addresses at connect time. */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true } as { all: true }, (error, addresses) => {
      if (error) return callback(error, options.all ? [] : '', 4);
      const allowed = allowPrivate ? addresses : addresses.filter((each) => isPublicAddress(each.address));
      if (allowed.length === 0) return callback(new RefusedDestinationError(`${hostname} resolves only to private, loopback or link-local addresses`), options.all ? [] : '', 4);
      if (options.all) return callback(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/** An IP literal in a URL is never looked up: it is checked here before connecting. */
export function literalRefused(url: URL, allowPrivate: boolean): RefusedDestinationError | undefined {
  const host = hostOf(url);
  if (allowPrivate || !isIP(host) || isPublicAddress(host)) return undefined;
  return new RefusedDestinationError(`${host} is a private, loopback or link-local address`);
}
