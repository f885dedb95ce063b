import type { FastifyInstance } from 'fastify';
import { anyUser } from './auth.js';

export interface ServiceRouteDeps {
  readonly health: () => Record<string, unknown>;
  /** What the web UI needs of the deployment (GET /api/ui-config). */
  readonly ui?: { readonly mapTileUrl: string; readonly mapTileAttribution: string };
}

/** What the hub says of itself: its health (public, for probes) and the web UI's deployment settings. */
export function registerServiceRoutes(api: FastifyInstance, deps: ServiceRouteDeps): void {
  api.get('/health', { config: { public: true } }, async () => deps.health());

  // Deployment settings of the web UI, for every logged-in page (README: MAP_TILE_URL).
  api.get('/ui-config', { ...anyUser, schema: { tags: ['ui'] } }, async () => ({
    mapTileUrl: deps.ui?.mapTileUrl || null,
    mapTileAttribution: deps.ui?.mapTileAttribution ?? '',
  }));
}
