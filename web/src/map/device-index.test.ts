import { describe, expect, it } from 'vitest';
import { generateDemoCity } from '@domain/demo-city.js';
import { DeviceIndex, deviceState, rankOf } from './device-index.js';

const city = generateDemoCity({ deviceCount: 1000 });
const bbox: [number, number, number, number] = [112.8, 27.7, 113.1, 27.9];

describe('the map’s device index', () => {
  it('accounts for every device of the demo city in the clusters and markers at any zoom', () => {
    const index = new DeviceIndex(city.devices);
    for (const zoom of [10, 13, 15, 18]) {
      const total = index.items(bbox, zoom).reduce((n, i) => n + i.count, 0);
      expect(total).toBe(1000);
    }
  });

  it('shows the worst state inside a cluster, and a cluster turns back when the alarm clears', () => {
    const index = new DeviceIndex(city.devices);
    const items = index.items(bbox, 12);
    expect(items.every((i) => i.worst === rankOf.normal)).toBe(true);
    const manhole = city.devices.find((d) => d.type === 'manhole')!;
    index.setState(manhole.id, 'offline');
    index.setState(city.devices[0]!.id, 'minor');
    expect(index.setState(manhole.id, 'critical')).toBe(true);
    expect(index.setState(manhole.id, 'critical')).toBe(false);
    index.refresh(items);
    const holder = items.find((i) =>
      i.cluster
        ? [...index.leaves(i.clusterId)].includes(index.indexOf(manhole.id))
        : i.index === index.indexOf(manhole.id),
    )!;
    expect(holder.worst).toBe(rankOf.critical);
    index.setState(manhole.id, 'normal');
    index.refresh(items);
    expect(holder.worst).toBeLessThan(rankOf.critical);
  });

  it('marks a device by its worst open alarm, else by whether it is online', () => {
    expect(deviceState(true, undefined)).toBe('normal');
    expect(deviceState(false, undefined)).toBe('offline');
    expect(deviceState(false, 'major')).toBe('major');
  });
});
