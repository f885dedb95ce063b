import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { HubError } from './errors.js';

/**
 * People's passwords are stored as `scrypt$N$r$p$salt$hash`
 * (docs/decisions/0003-secrets.md). Device secrets are random tokens the hub
 * generates, stored as `sha256$digest` (decision 0135): nothing can guess a
 * 128-bit token, so a slow hash would only slow every reconnect. Device
 * hashes of earlier versions (`scrypt$…` at the low N below) still verify and
 * are replaced on the device's next good CONNECT.
 */
export const secretCost = { device: 1 << 10, password: 1 << 15 } as const;

const keyLength = 32;

function scryptAsync(
  secret: string,
  salt: Buffer,
  N: number,
  r: number,
  p: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, keyLength, { N, r, p, maxmem: 256 * N * r }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** 128 bits in base64url: the shortest device secret the hub stores (decision 0135). */
export const deviceSecretMinLength = 22;

const sha256Prefix = 'sha256$';
const sha256 = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();

/** The stored form of a device secret: a SHA-256 digest (fast on purpose, decision 0135). */
export function hashDeviceSecret(secret: string): string {
  if (secret.length < deviceSecretMinLength) {
    throw new HubError(
      'HUB_ERR_BAD_REQUEST',
      `a device secret needs at least ${deviceSecretMinLength} characters (128 bits)`,
    );
  }
  return sha256Prefix + sha256(secret).toString('base64url');
}

/** True for a device hash of an earlier version, which the next good CONNECT replaces. */
export function isLegacyDeviceHash(stored: string): boolean {
  return !stored.startsWith(sha256Prefix);
}

/**
 * Checks a device secret: synchronously in microseconds for a `sha256$` hash
 * (a reconnect storm costs no thread-pool work), through scrypt for a legacy one.
 */
export function verifyDeviceSecret(secret: string, stored: string): boolean | Promise<boolean> {
  if (!stored.startsWith(sha256Prefix)) return verifySecret(secret, stored);
  const expected = Buffer.from(stored.slice(sha256Prefix.length), 'base64url');
  return expected.length === keyLength && timingSafeEqual(sha256(secret), expected);
}

/** The scrypt parameters of a new password hash (decision 0003). */
export const scryptParams = { r: 8, p: 1, keyLength } as const;

export interface ScryptHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** `scrypt$N$r$p$salt$hash`, or null when it is not one. */
function parseScryptHash(stored: string): ScryptHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (!Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p)) return null;
  if (key.length !== keyLength) return null;
  return { N, r, p, salt, key };
}

export const formatScryptHash = (h: ScryptHash): string =>
  `scrypt$${h.N}$${h.r}$${h.p}$${h.salt.toString('base64url')}$${h.key.toString('base64url')}`;

/** What computes scrypt: libuv's pool by default, the login guard's own threads for people. */
export type Scrypt = (
  secret: string,
  salt: Buffer,
  N: number,
  r: number,
  p: number,
) => Promise<Buffer>;

export async function hashSecret(
  secret: string,
  N: number = secretCost.password,
  scrypt: Scrypt = scryptAsync,
): Promise<string> {
  const salt = randomBytes(16);
  const { r, p } = scryptParams;
  const key = await scrypt(secret, salt, N, r, p);
  return formatScryptHash({ N, r, p, salt, key });
}

/** Constant-time comparison; a malformed stored hash verifies nothing. */
export async function verifySecret(
  secret: string,
  stored: string,
  scrypt: Scrypt = scryptAsync,
): Promise<boolean> {
  const h = parseScryptHash(stored);
  if (!h) return false;
  const actual = await scrypt(secret, h.salt, h.N, h.r, h.p);
  return timingSafeEqual(actual, h.key);
}
