import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import proxyAddr from '@fastify/proxy-addr';

/**
 * HTTP settings a city's IT team sets when the hub sits behind a reverse proxy
 * (README, "Behind nginx"): whether to trust X-Forwarded-* and when the
 * session cookie carries `Secure`.
 */

/** `auto`: Secure when the request came over https (X-Forwarded-Proto counts when trusted). */
export type CookieSecure = 'auto' | 'true' | 'false';

/** Fastify's `trustProxy`: false, true (any hop), the nearest n hops, or addresses/CIDRs. */
export type TrustProxy = boolean | string | ((address: string, hop: number) => boolean);

function isAddressOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined || !address) return false;
  const family = net.isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: empty or `false` (default: X-Forwarded-* ignored), `true` (any
 * hop; only when nothing but the proxy can reach the hub), a hop count, or a
 * comma-separated list of proxy addresses or CIDRs. Throws a message naming
 * the bad entry.
 */
export function parseTrustProxy(value: string): TrustProxy {
  const v = value.trim();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    return (_address, hop) => hop < hops;
  }
  const entries = v.split(',').map((e) => e.trim());
  const bad = entries.filter((e) => !isAddressOrCidr(e));
  if (bad.length > 0) {
    throw new Error(
      `must be true, false, a hop count or IP addresses/CIDRs separated by commas; not ${bad
        .map((b) => JSON.stringify(b))
        .join(', ')}`,
    );
  }
  return entries.join(',');
}

/** Whether a proxy at `address` is trusted: the rule Fastify applies to TRUST_PROXY. */
export function trustProxyFn(trust: TrustProxy): (address: string, hop: number) => boolean {
  if (typeof trust === 'function') return trust;
  if (typeof trust === 'boolean') return () => trust;
  return proxyAddr.compile(trust.split(',').map((e) => e.trim()));
}

/**
 * HTTP_ALLOWED_ORIGINS: origins (`https://ops.example.gov.cn`) whose pages may
 * open the hub's socket.io besides its own; comma-separated, empty = none.
 * Throws a message naming the bad entry.
 */
export function parseAllowedOrigins(value: string): string[] {
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const bad = entries.filter((e) => {
    try {
      const u = new URL(e);
      return !/^https?:$/.test(u.protocol) || u.origin !== e.replace(/\/$/, '');
    } catch {
      return true;
    }
  });
  if (bad.length > 0) {
    throw new Error(
      `must be origins like https://ops.example.gov.cn separated by commas; not ${bad
        .map((b) => JSON.stringify(b))
        .join(', ')}`,
    );
  }
  return entries.map((e) => new URL(e).origin);
}

/**
 * Whether a browser page from `origin` may open a live connection (issue
 * #11): the hub's own origin (the Host, or X-Forwarded-Host from a proxy
 * TRUST_PROXY trusts, as Fastify reads it) or one of HTTP_ALLOWED_ORIGINS.
 * No Origin header (a non-browser client) is allowed: a cross-site page
 * always sends one.
 */
export function originAllowed(
  req: IncomingMessage,
  trust: TrustProxy,
  allowed: readonly string[],
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let host: string;
  try {
    const u = new URL(origin);
    if (!/^https?:$/.test(u.protocol)) return false;
    if (allowed.includes(u.origin)) return true;
    host = u.host;
  } catch {
    return false;
  }
  const forwarded = req.headers['x-forwarded-host'];
  const peer = req.socket.remoteAddress;
  const own =
    typeof forwarded === 'string' && peer !== undefined && trustProxyFn(trust)(peer, 0)
      ? forwarded.slice(forwarded.lastIndexOf(',') + 1).trim()
      : req.headers.host;
  return own !== undefined && host.toLowerCase() === own.toLowerCase();
}

/** Whether the session cookie of a request carries `Secure`. */
export function cookieIsSecure(setting: CookieSecure, protocol: string): boolean {
  if (setting === 'auto') return protocol === 'https';
  return setting === 'true';
}

const secretKey = /pass(word)?|secret|token|authorization|cookie|api_?key|private_?key|credential/i;
/** The user:password of a URL (a webhook's `https://user:pw@host/`). */
const urlUserinfo = /(\/\/)[^/@\s]+@/g;
const maxString = 500;
const maxItems = 50;
const maxDepth = 5;

/**
 * A request body as the audit log keeps it: values of password, secret,
 * token, API key and credential fields (any depth, any spelling such as
 * `oldPassword`) and the user:password of URLs replaced by `***`, long
 * strings and arrays cut. Not an object: its size only.
 */
export function maskSecrets(body: unknown, depth = 0): unknown {
  if (body === null || body === undefined) return body ?? null;
  if (typeof body === 'string') {
    const shown = body.includes('@') ? body.replace(urlUserinfo, '$1***@') : body;
    return shown.length > maxString
      ? `${shown.slice(0, maxString)}… (${shown.length} chars)`
      : shown;
  }
  if (typeof body !== 'object') return body;
  if (Buffer.isBuffer(body)) return { bytes: body.length };
  if (depth >= maxDepth) return '…';
  if (Array.isArray(body)) {
    const items = body.slice(0, maxItems).map((x) => maskSecrets(x, depth + 1));
    if (body.length > maxItems) items.push(`… (${body.length} items)`);
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    out[key] =
      secretKey.test(key) && value !== null && value !== undefined
        ? '***'
        : maskSecrets(value, depth + 1);
  }
  return out;
}
