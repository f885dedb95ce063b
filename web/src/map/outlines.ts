import type L from 'leaflet';

/** How district, street, community and grid outlines are drawn on every map of the UI. */
export const outlineStyle = (level: string): L.PathOptions =>
  ({
    district: { color: '#1f4e79', weight: 3, fill: true, fillOpacity: 0.03 },
    street: { color: '#2e75b6', weight: 2, fill: false, dashArray: '6 4' },
    community: { color: '#6fa8dc', weight: 1.2, fill: false },
    grid: { color: '#9fc5e8', weight: 0.6, fill: false, dashArray: '2 3' },
  })[level] ?? { color: '#999', weight: 1 };

/** The demo city's centre (湘潭市), where a map opens with nothing else to show. */
export const cityCentre: [number, number] = [27.8297, 112.9441];
