import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, tileOrigins } from './csp.js';

describe('the CSP with map tiles', () => {
  it('admits the origin of MAP_TILE_URL, with a placeholder label as a wildcard', () => {
    expect(tileOrigins('https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}&y={y}')).toEqual([
      'https://*.tianditu.gov.cn',
    ]);
    expect(tileOrigins('http://10.1.2.3:8088/tiles/{z}/{x}/{y}.png')).toEqual([
      'http://10.1.2.3:8088',
    ]);
    expect(tileOrigins('/tiles/{z}/{x}/{y}.png')).toEqual([]);
    expect(tileOrigins('')).toEqual([]);
    const csp = contentSecurityPolicy({
      tileHosts: tileOrigins('https://tiles.example.gov.cn/{z}'),
    });
    expect(csp['img-src']).toContain('https://tiles.example.gov.cn');
  });
});
