// Where a webhook may connect. A subscription URL is operator input, but the events it carries are
// attacker-shaped and the worker sits inside the honeypot's network: a URL (or a DNS answer that
// changes after the check) must not turn it into a probe of internal services. So:
//   - only http and https, no credentials in the URL;
//   - the host is resolved and every address is checked: loopback, private, carrier-grade NAT,
//     link-local and unique-local addresses are refused unless the operator allowed internal
//     destinations (DECNET_WEBHOOK_ALLOW_PRIVATE=true, or the subscription's allow flag);
//     unspecified, multicast, documentation, benchmarking and reserved ranges are always refused;
//   - the check runs inside the connection's own DNS lookup, so the address connected to is the
//     address checked (no DNS rebinding between check and connect). The Host header and TLS SNI
//     keep the original name.
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { HttpError } from '../core/http-client.ts';
import { INTERNAL_CLASSES, classifyAddress } from '../core/special-addresses.ts';

export interface DestinationPolicy {
  /** Allow loopback, private, CGNAT, link-local and unique-local destinations. */
  allowInternal: boolean;
}

function refused(message: string): HttpError {
  return new HttpError('refused-destination', message);
}

/** Checks a subscription URL's form; returns it parsed. */
export function checkWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refused(`${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refused(`${url.protocol} URLs are not allowed; use http:// or https://`);
  if (url.username || url.password) throw refused('the URL carries credentials; the signature authenticates deliveries');
  if (!url.hostname) throw refused('the URL has no host');
  return url;
}

/** Throws when `address` may not be connected to under `policy`. */
export function checkAddress(address: string, policy: DestinationPolicy, host = address): void {
  const cls = classifyAddress(address);
  if (cls === undefined) throw refused(`${host} resolved to ${JSON.stringify(address)}, which is not an IP address`);
  if (cls === 'public') return;
  if (policy.allowInternal && INTERNAL_CLASSES.has(cls)) return;
  const hint = INTERNAL_CLASSES.has(cls) ? ' (allow internal destinations with --allow-private or DECNET_WEBHOOK_ALLOW_PRIVATE=true)' : '';
  throw refused(`${host} is a ${cls} address (${address}); webhooks may not connect there${hint}`);
}

/** The host part of a URL as an address literal, if it is one. */
export function literalAddress(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) ? host : undefined;
}

type LookupAddress = { address: string; family: number };

/**
 * A `lookup` for http.request that resolves the host, refuses the connection if any address is
 * forbidden, and otherwise connects to the checked addresses only.
 */
export function guardedLookup(policy: DestinationPolicy): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { all: true, family: options?.family ?? 0, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, options?.all ? [] : '', 4);
      try {
        if (addresses.length === 0) throw refused(`${hostname} has no address`);
        for (const a of addresses) checkAddress(a.address, policy, hostname);
      } catch (e) {
        return callback(e as Error, options?.all ? [] : '', 4);
      }
      if (options?.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as unknown as LookupFunction;
}

/** Resolves and checks a URL's destination up front (for `decnet webhook add`); the addresses found. */
export async function checkDestination(url: URL, policy: DestinationPolicy): Promise<string[]> {
  const literal = literalAddress(url);
  if (literal) {
    checkAddress(literal, policy, literal);
    return [literal];
  }
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) => {
    dnsLookup(url.hostname, { all: true, verbatim: true }, (err, list) => (err ? reject(err) : resolve(list)));
  });
  for (const a of addresses) checkAddress(a.address, policy, url.hostname);
  return addresses.map((a) => a.address);
}
