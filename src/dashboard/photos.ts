/**
 * Case photos are checked by their bytes, never by the declared type
 * (issue #11, decision 0130): the three formats a phone camera or a
 * screenshot produces, each recognised by its fixed signature.
 */
/** Largest photo accepted (multipart limit; a 12 MP phone JPEG is 3 to 5 MB). */
export const maxPhotoBytes = 10 * 1024 * 1024;

export interface PhotoType {
  readonly contentType: 'image/jpeg' | 'image/png' | 'image/webp';
  readonly ext: '.jpg' | '.png' | '.webp';
}

const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const startsWith = (bytes: Uint8Array, sig: readonly number[], at = 0): boolean =>
  bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** The photo's type from its first bytes, or null when it is none of JPEG, PNG, WebP. */
export function photoTypeOf(bytes: Uint8Array): PhotoType | null {
  // JPEG: SOI marker then the start of another marker (JFIF, Exif, or a table).
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { contentType: 'image/jpeg', ext: '.jpg' };
  if (startsWith(bytes, png)) return { contentType: 'image/png', ext: '.png' };
  // WebP: a RIFF container whose form type is WEBP, then a VP8/VP8L/VP8X chunk.
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBPVP8'), 8)) {
    return { contentType: 'image/webp', ext: '.webp' };
  }
  return null;
}

/** Served photos: the detected type only, never sniffed, never rendered as a page. */
export function photoHeaders(contentType: string, fileName: string): Record<string, string> {
  return {
    'content-type': contentType,
    'x-content-type-options': 'nosniff',
    // The stored name is ours (random hex + extension): safe to quote as is.
    'content-disposition': `inline; filename="${fileName}"`,
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, max-age=3600',
  };
}
