/** The bytes of a PNG as a phone would send it (checked by its signature, src/dashboard/photos.ts). */
export const pngBytes = () =>
  new Uint8Array([
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
  ]);

/** A multipart form of text fields and `photos` PNG parts named `photo` (issue #16). */
export function photoForm(fields: Record<string, string | number>, photos = 1): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, String(v));
  for (let i = 0; i < photos; i++) {
    form.append('photo', new Blob([pngBytes()], { type: 'image/png' }), `p${i}.png`);
  }
  return form;
}
