import { describe, expect, it } from 'vitest';
import { photoTypeOf } from './photos.js';

const bytes = (...parts: (number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p)] : p)));

describe('photo types by their bytes', () => {
  it('recognises JPEG, PNG and WebP signatures', () => {
    expect(photoTypeOf(bytes([0xff, 0xd8, 0xff, 0xe1]))?.contentType).toBe('image/jpeg');
    expect(photoTypeOf(bytes([0x89], 'PNG\r\n\x1a\n', [0]))?.contentType).toBe('image/png');
    expect(photoTypeOf(bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 '))?.contentType).toBe('image/webp');
  });

  it('refuses HTML, SVG, GIF, a RIFF that is not WebP, and files shorter than a signature', () => {
    for (const b of [
      bytes('<html><body>'),
      bytes('<svg xmlns="http://www.w3.org/2000/svg">'),
      bytes('GIF89a'),
      bytes('RIFF', [1, 2, 3, 4], 'WAVEfmt '),
      bytes([0xff, 0xd8]),
      bytes([]),
    ]) {
      expect(photoTypeOf(b)).toBeNull();
    }
  });
});
