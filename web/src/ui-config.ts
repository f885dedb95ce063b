import { get } from './api.js';

/** Deployment settings the UI needs (MAP_TILE_URL …), from GET /api/ui-config. */
export interface UiConfig {
  readonly mapTileUrl: string | null;
  readonly mapTileAttribution: string;
}

let cached: Promise<UiConfig> | null = null;

export function uiConfig(): Promise<UiConfig> {
  cached ??= get<UiConfig>('/api/ui-config').catch(() => ({
    mapTileUrl: null,
    mapTileAttribution: '',
  }));
  return cached;
}
