/**
 * The Content-Security-Policy of every page the hub serves (issue #11,
 * decision 0126): scripts only from the hub itself (no inline script), styles
 * inline too (map libraries and Vue set `style` attributes), images also as
 * `data:` and `blob:` URLs (map markers, photo previews), connections to the
 * hub only (`'self'` covers socket.io's same-origin ws:/wss:), and no page
 * may frame the hub. One place, so a new front end extends it rather than
 * loosening it elsewhere.
 */
export interface CspExtras {
  /** Origins of map tiles, e.g. `https://tiles.example.gov.cn`: added to img-src and connect-src. */
  readonly tileHosts?: readonly string[];
}

export function contentSecurityPolicy(extras: CspExtras = {}): Record<string, string[] | null> {
  const tiles = [...(extras.tileHosts ?? [])];
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:', 'blob:', ...tiles],
    'font-src': ["'self'", 'data:'],
    'connect-src': ["'self'", ...tiles],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'script-src-attr': ["'none'"],
    // The hub is often reached over plain http on a city's LAN: upgrading would break it.
    'upgrade-insecure-requests': null,
  };
}

/** @fastify/helmet's options for every HTTP server of the hub: the CSP above, no framing at all. */
export function securityHeaders(extras: CspExtras = {}) {
  return {
    contentSecurityPolicy: { directives: contentSecurityPolicy(extras) },
    frameguard: { action: 'deny' as const },
  };
}
