import type { FastifyRequest } from 'fastify';
import type { StoredPhoto } from '../cases/index.js';
import { HubError } from '../domain/index.js';
import { maxPhotoBytes, photoTypeOf } from './photos.js';

/**
 * Reads a multipart form of text fields and `photo` parts (issue #16): each
 * photo checked by its bytes (photos.ts), at most `maxPhotos`, fields of at
 * most 4 KB. Other file parts are refused.
 */
export async function readPhotoForm(
  req: FastifyRequest,
  maxPhotos: number,
): Promise<{ fields: Record<string, string>; photos: StoredPhoto[] }> {
  if (!req.isMultipart()) throw new HubError('HUB_ERR_MEDIA_TYPE', 'send multipart/form-data');
  const fields: Record<string, string> = {};
  const photos: StoredPhoto[] = [];
  try {
    for await (const part of req.parts({
      limits: { files: maxPhotos, fileSize: maxPhotoBytes, fieldSize: 4096, fields: 20 },
    })) {
      if (part.type === 'field') {
        fields[part.fieldname] = String(part.value);
        continue;
      }
      if (part.fieldname !== 'photo') {
        throw new HubError('HUB_ERR_BAD_REQUEST', `unexpected file part ${part.fieldname}`);
      }
      const bytes = await part.toBuffer();
      // The bytes decide, not the declared type (decision 0130).
      const type = photoTypeOf(bytes);
      if (!type) throw new HubError('HUB_ERR_PHOTO_TYPE', `declared ${part.mimetype}`);
      photos.push({ bytes, contentType: type.contentType, ext: type.ext });
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') {
      throw new HubError('HUB_ERR_PAYLOAD_TOO_LARGE', `a photo is at most ${maxPhotoBytes} bytes`);
    }
    if (code === 'FST_FILES_LIMIT') {
      throw new HubError('HUB_ERR_BAD_REQUEST', `at most ${maxPhotos} photos`);
    }
    if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT') {
      throw new HubError('HUB_ERR_BAD_REQUEST', 'too many form fields');
    }
    throw err;
  }
  return { fields, photos };
}

/** A number field of a form, or undefined when absent; HUB_ERR_BAD_REQUEST when out of range. */
export function numberField(
  fields: Record<string, string>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = fields[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `${name} must be a number in [${min}, ${max}]`);
  }
  return n;
}

export function requiredNumber(
  fields: Record<string, string>,
  name: string,
  min: number,
  max: number,
): number {
  const n = numberField(fields, name, min, max);
  if (n === undefined) throw new HubError('HUB_ERR_BAD_REQUEST', `${name} is required`);
  return n;
}

/** A text field, trimmed, at most `max` characters; undefined when absent or blank. */
export function textField(
  fields: Record<string, string>,
  name: string,
  max: number,
): string | undefined {
  const v = fields[name]?.trim();
  if (!v) return undefined;
  if (v.length > max || v.includes('\u0000')) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `${name} is longer than ${max} characters`);
  }
  return v;
}
