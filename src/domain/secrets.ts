import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Secrets are stored as `scrypt$N$r$p$salt$hash` (docs/decisions/0003-secrets.md).
 * Device secrets are 192-bit random strings the hub generates, which no cost
 * factor needs to protect from guessing, so they use a low N and authenticate
 * fast; human passwords use the high one.
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

export async function hashSecret(secret: string, N: number = secretCost.password): Promise<string> {
  const salt = randomBytes(16);
  const r = 8;
  const p = 1;
  const key = await scryptAsync(secret, salt, N, r, p);
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time comparison; a malformed stored hash verifies nothing. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (
    !Number.isInteger(N) ||
    !Number.isInteger(r) ||
    !Number.isInteger(p) ||
    expected.length !== keyLength
  ) {
    return false;
  }
  const actual = await scryptAsync(secret, salt, N, r, p);
  return timingSafeEqual(actual, expected);
}
