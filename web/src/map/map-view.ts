import L from 'leaflet';
import { stateNames, type DeviceIndex, type MapItem } from './device-index.js';

/**
 * The city map on Leaflet without Vue, so the page and the benchmark draw it
 * the same way (decision 0150). Only what clustering leaves on screen is in
 * the DOM (a few hundred markers at any zoom, each a `div` with test ids and
 * a label); area outlines are on one canvas. State changes are coalesced to
 * one refresh per animation frame, at most every `refreshMs`.
 */
export interface MapViewOptions {
  readonly center: [number, number];
  readonly zoom: number;
  /** Optional raster tiles of the city's own server; none by default (no internet). */
  readonly tileUrl?: string;
  readonly tileAttribution?: string;
  readonly refreshMs?: number;
  readonly onDevice?: (id: string) => void;
  /** A short label of a facility type on its marker (a glyph such as 灯). */
  readonly glyph?: (type: string) => string;
  readonly describe?: (item: MapItem, index: DeviceIndex) => string;
}

export class MapView {
  readonly map: L.Map;
  private index: DeviceIndex | null = null;
  private items: MapItem[] = [];
  private readonly markers = new Map<string, L.Marker>();
  private readonly layer: L.LayerGroup;
  private outlines: L.GeoJSON | null = null;
  private pending = false;
  private lastRefresh = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Renders and refreshes done, for the benchmark and tests. */
  readonly stats = { renders: 0, refreshes: 0, patched: 0, maxRefreshMs: 0 };

  constructor(
    readonly element: HTMLElement,
    private readonly options: MapViewOptions,
  ) {
    this.map = L.map(element, {
      center: options.center,
      zoom: options.zoom,
      preferCanvas: true,
      zoomControl: true,
      attributionControl: Boolean(options.tileUrl),
    });
    if (options.tileUrl) {
      L.tileLayer(options.tileUrl, {
        maxZoom: 19,
        attribution: options.tileAttribution ?? '',
      }).addTo(this.map);
    }
    this.layer = L.layerGroup().addTo(this.map);
    this.map.on('moveend', () => this.render());
  }

  setDevices(index: DeviceIndex): void {
    this.index = index;
    this.render();
  }

  setOutlines(geojson: GeoJSON.FeatureCollection, style: (level: string) => L.PathOptions): void {
    this.outlines?.remove();
    const renderer = L.canvas({ padding: 0.2 });
    this.outlines = L.geoJSON(geojson, {
      renderer,
      interactive: false,
      style: (f) => style(String(f?.properties?.level ?? '')),
    } as L.GeoJSONOptions).addTo(this.map);
    this.outlines.bringToBack();
  }

  /** Full redraw of what is on screen (after a move or zoom). */
  render(): void {
    const index = this.index;
    if (!index) return;
    const b = this.map.getBounds();
    const items = index.items(
      [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()],
      this.map.getZoom(),
    );
    const keep = new Set<string>();
    for (const item of items) {
      keep.add(item.key);
      const held = this.markers.get(item.key);
      if (held) this.paint(held, item);
      else this.add(item);
    }
    for (const [key, marker] of this.markers) {
      if (!keep.has(key)) {
        this.layer.removeLayer(marker);
        this.markers.delete(key);
      }
    }
    this.items = items;
    this.stats.renders++;
  }

  /** Some device states changed: repaint on the next frame, at most every refreshMs. */
  invalidate(): void {
    if (this.pending) return;
    this.pending = true;
    const wait = Math.max(
      0,
      (this.options.refreshMs ?? 250) - (performance.now() - this.lastRefresh),
    );
    this.timer = setTimeout(() => requestAnimationFrame(() => this.refresh()), wait);
  }

  /** Repaints the markers whose worst state changed; returns how many. */
  refresh(): number {
    this.pending = false;
    const started = performance.now();
    this.lastRefresh = started;
    const index = this.index;
    if (!index) return 0;
    let patched = 0;
    for (const item of this.items) {
      const before = item.worst;
      item.worst = item.cluster ? index.worstOfCluster(item.clusterId) : index.state[item.index]!;
      if (item.worst !== before) {
        const m = this.markers.get(item.key);
        if (m) this.paint(m, item);
        patched++;
      }
    }
    this.stats.refreshes++;
    this.stats.patched += patched;
    this.stats.maxRefreshMs = Math.max(this.stats.maxRefreshMs, performance.now() - started);
    return patched;
  }

  /** Zooms to a device and returns whether it is known. */
  focusDevice(id: string, zoom = 18): boolean {
    const i = this.index?.indexOf(id) ?? -1;
    if (i < 0 || !this.index) return false;
    this.map.setView([this.index.lat[i]!, this.index.lon[i]!], zoom, { animate: false });
    this.render();
    return true;
  }

  onScreen(): readonly MapItem[] {
    return this.items;
  }

  /** The state a drawn item's marker shows (`data-state`), for tests and the benchmark. */
  paintedState(key: string): string | undefined {
    return this.markers.get(key)?.getElement()?.dataset.state;
  }

  destroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.map.remove();
  }

  private add(item: MapItem): void {
    const size = item.cluster ? Math.min(56, 26 + Math.log10(item.count) * 10) : 22;
    const marker = L.marker([item.lat, item.lon], {
      icon: L.divIcon({ className: 'mk', iconSize: [size, size], html: '' }),
      keyboard: true,
      riseOnHover: true,
    });
    marker.on('click', () => this.click(item.key));
    this.layer.addLayer(marker);
    this.markers.set(item.key, marker);
    this.paint(marker, item);
  }

  private click(key: string): void {
    const item = this.items.find((i) => i.key === key);
    if (!item || !this.index) return;
    if (item.cluster) {
      const z = Math.min(this.index.expansionZoom(item.clusterId), 19);
      this.map.setView([item.lat, item.lon], z);
    } else this.options.onDevice?.(this.index.ids[item.index]!);
  }

  private paint(marker: L.Marker, item: MapItem): void {
    const el = marker.getElement();
    if (!el || !this.index) return;
    const state = stateNames[item.worst] ?? 'normal';
    el.className = `leaflet-marker-icon leaflet-interactive mk mk-${state}${item.cluster ? ' mk-cluster' : ''}`;
    el.dataset.state = state;
    if (item.cluster) {
      el.dataset.testid = 'map-cluster';
      el.dataset.count = String(item.count);
      el.textContent =
        item.count >= 1000 ? `${(item.count / 1000).toFixed(1)}k` : String(item.count);
    } else {
      const type = this.index.types[item.index]!;
      el.dataset.testid = 'map-device';
      el.dataset.deviceId = this.index.ids[item.index]!;
      el.dataset.type = type;
      el.textContent = this.options.glyph?.(type) ?? '';
    }
    const label = this.options.describe?.(item, this.index);
    if (label) {
      el.setAttribute('aria-label', label);
      el.title = label;
    }
  }
}
