import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { HubError } from '../domain/index.js';

/**
 * Where a webhook may send (issue #11, decision 0131): no credentials in the
 * URL, and, unless WEBHOOK_ALLOW_PRIVATE_TARGETS is on, only to public
 * unicast addresses, checked when the webhook is created and again at every
 * delivery on the address the connection actually uses (a name that resolved
 * to a public address at creation may resolve to 127.0.0.1 later: DNS
 * rebinding).
 */

/**
 * Whether an address is public unicast. Everything else is refused:
 * loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
 * (169.254/16, fe80::/10, cloud metadata), 0.0.0.0 and ::, multicast,
 * broadcast, carrier-grade NAT, documentation and other reserved ranges, and
 * IPv6 forms that embed an IPv4 address (6to4, Teredo, NAT64). IPv4-mapped
 * IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it is.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** The URL with any user:password replaced by `***`, for responses and logs. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '***';
    u.password = '';
    return u.toString();
  } catch {
    return '***';
  }
}

const hostOf = (u: URL) => u.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * A webhook URL as given at creation: http(s), no credentials, and a target
 * that is or resolves to public addresses only (unless `allowPrivate`).
 * Resolves the name; sends nothing.
 */
export async function checkWebhookUrl(url: string, allowPrivate: boolean): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new HubError('HUB_ERR_BAD_REQUEST', 'url is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new HubError('HUB_ERR_BAD_REQUEST', 'url must be http or https');
  }
  if (u.username || u.password) {
    throw new HubError(
      'HUB_ERR_WEBHOOK_CREDENTIALS',
      'put no user:password in the URL; the receiver checks X-Hub-Signature-256 (HMAC of the body under the webhook secret)',
    );
  }
  if (allowPrivate) return;
  const host = hostOf(u);
  const addresses = isIP(host)
    ? [host]
    : await new Promise<string[]>((resolve, reject) =>
        dnsLookup(host, { all: true }, (err, all) =>
          err
            ? reject(
                new HubError('HUB_ERR_WEBHOOK_TARGET', `${host} does not resolve (${err.code})`),
              )
            : resolve(all.map((a) => a.address)),
        ),
      );
  const refused = addresses.find((a) => !isPublicAddress(a));
  if (refused !== undefined) {
    throw new HubError(
      'HUB_ERR_WEBHOOK_TARGET',
      `${host} is or resolves to ${refused}, not a public address (WEBHOOK_ALLOW_PRIVATE_TARGETS)`,
    );
  }
}

/**
 * The `lookup` of a delivery's connection: resolves as usual and refuses the
 * connection when any address is not public, so the socket connects only to
 * an address that was checked (no second resolution in between).
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, all: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const refused = all.find((a) => !isPublicAddress(a.address));
    if (refused || all.length === 0) {
      const e = Object.assign(
        new Error(
          `HUB_ERR_WEBHOOK_TARGET: ${hostname} resolves to ${refused?.address ?? 'nothing'}, not a public address`,
        ),
        { code: 'HUB_ERR_WEBHOOK_TARGET' },
      );
      return callback(e, '', 0);
    }
    if (options.all)
      return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, all);
    callback(null, all[0]!.address, all[0]!.family);
  });
};

/** Refuses, before connecting, a delivery URL whose host is a literal non-public address (no lookup happens for those). */
export function refuseLiteralTarget(url: URL): void {
  const host = hostOf(url);
  if (isIP(host) && !isPublicAddress(host)) {
    throw new HubError('HUB_ERR_WEBHOOK_TARGET', `${host} is not a public address`);
  }
}
