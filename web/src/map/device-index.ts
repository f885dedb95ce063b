import Supercluster, { type ClusterProperties, type PointFeature } from 'supercluster';

/**
 * The map's model of every device: positions in flat arrays, a state per
 * device as a small rank, and a supercluster index for what to draw at a
 * zoom (decision 0150). A state change touches one byte; the worst state of
 * a cluster is the largest rank among its leaves, whose indices are cached
 * per cluster so a refresh is O(leaves on screen) with no allocation.
 */
export const stateNames = ['normal', 'offline', 'warning', 'minor', 'major', 'critical'] as const;
export type MarkerState = (typeof stateNames)[number];
export const rankOf: Readonly<Record<MarkerState, number>> = {
  normal: 0,
  offline: 1,
  warning: 2,
  minor: 3,
  major: 4,
  critical: 5,
};

export interface MapDevice {
  readonly id: string;
  readonly type: string;
  readonly lat: number;
  readonly lon: number;
}

/** One thing to draw: a cluster or a single device. */
export interface MapItem {
  /** `c<id>` for a cluster, `d<index>` for a device: stable for diffing markers. */
  readonly key: string;
  readonly lat: number;
  readonly lon: number;
  readonly cluster: boolean;
  readonly clusterId: number;
  /** Device index for a single device, -1 for a cluster. */
  readonly index: number;
  readonly count: number;
  worst: number;
}

type Props = { i: number };

export class DeviceIndex {
  readonly ids: string[] = [];
  readonly types: string[] = [];
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  readonly state: Uint8Array;
  private readonly byId = new Map<string, number>();
  private readonly clusters: Supercluster<Props, Record<string, never>>;
  private readonly leafCache = new Map<number, Int32Array>();

  constructor(devices: readonly MapDevice[], options: { radius?: number; maxZoom?: number } = {}) {
    const n = devices.length;
    this.lat = new Float64Array(n);
    this.lon = new Float64Array(n);
    this.state = new Uint8Array(n);
    const features: PointFeature<Props>[] = new Array(n);
    devices.forEach((d, i) => {
      this.ids.push(d.id);
      this.types.push(d.type);
      this.lat[i] = d.lat;
      this.lon[i] = d.lon;
      this.byId.set(d.id, i);
      features[i] = {
        type: 'Feature',
        properties: { i },
        geometry: { type: 'Point', coordinates: [d.lon, d.lat] },
      };
    });
    this.clusters = new Supercluster<Props, Record<string, never>>({
      radius: options.radius ?? 60,
      maxZoom: options.maxZoom ?? 17,
      minPoints: 3,
    });
    this.clusters.load(features);
  }

  get size(): number {
    return this.ids.length;
  }

  indexOf(id: string): number {
    return this.byId.get(id) ?? -1;
  }

  /** Sets a device's state; returns whether it changed. */
  setState(id: string, state: MarkerState): boolean {
    const i = this.byId.get(id);
    if (i === undefined) return false;
    const r = rankOf[state];
    if (this.state[i] === r) return false;
    this.state[i] = r;
    return true;
  }

  /** What to draw in a bounding box [west, south, east, north] at a zoom. */
  items(bbox: [number, number, number, number], zoom: number): MapItem[] {
    const out: MapItem[] = [];
    for (const f of this.clusters.getClusters(bbox, Math.round(zoom))) {
      const [lon, lat] = f.geometry.coordinates as [number, number];
      const p = f.properties as Partial<ClusterProperties> & Partial<Props>;
      if (p.cluster) {
        const id = p.cluster_id!;
        out.push({
          key: `c${id}`,
          lat,
          lon,
          cluster: true,
          clusterId: id,
          index: -1,
          count: p.point_count!,
          worst: this.worstOfCluster(id),
        });
      } else {
        const i = p.i!;
        out.push({
          key: `d${i}`,
          lat,
          lon,
          cluster: false,
          clusterId: -1,
          index: i,
          count: 1,
          worst: this.state[i]!,
        });
      }
    }
    return out;
  }

  /** Recomputes the worst state of items already drawn; returns how many changed. */
  refresh(items: MapItem[]): number {
    let changed = 0;
    for (const item of items) {
      const w = item.cluster ? this.worstOfCluster(item.clusterId) : this.state[item.index]!;
      if (w !== item.worst) {
        item.worst = w;
        changed++;
      }
    }
    return changed;
  }

  leaves(clusterId: number): Int32Array {
    let leaves = this.leafCache.get(clusterId);
    if (!leaves) {
      const features = this.clusters.getLeaves(clusterId, Infinity);
      leaves = new Int32Array(features.length);
      for (let k = 0; k < features.length; k++) leaves[k] = features[k]!.properties.i;
      this.leafCache.set(clusterId, leaves);
    }
    return leaves;
  }

  worstOfCluster(clusterId: number): number {
    const leaves = this.leaves(clusterId);
    const state = this.state;
    let worst = 0;
    for (let k = 0; k < leaves.length; k++) {
      const s = state[leaves[k]!]!;
      if (s > worst) {
        worst = s;
        if (worst === 5) break;
      }
    }
    return worst;
  }

  expansionZoom(clusterId: number): number {
    return this.clusters.getClusterExpansionZoom(clusterId);
  }
}

/** A device's marker state from its connection and its worst open alarm. */
export function deviceState(online: boolean, worstSeverity: string | undefined): MarkerState {
  if (worstSeverity && worstSeverity in rankOf) return worstSeverity as MarkerState;
  return online ? 'normal' : 'offline';
}
