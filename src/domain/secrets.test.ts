import { describe, expect, it } from 'vitest';
import {
  deviceSecretMinLength,
  generateSecret,
  hashDeviceSecret,
  hashSecret,
  isLegacyDeviceHash,
  secretCost,
  verifyDeviceSecret,
} from './secrets.js';

/** Issue #17, decision 0135: a reconnect storm must cost no scrypt per device. */
describe('device secrets', () => {
  it('are checked synchronously against their SHA-256 form, with no thread-pool hash', () => {
    const secret = generateSecret();
    const stored = hashDeviceSecret(secret);
    expect(stored).toMatch(/^sha256\$[A-Za-z0-9_-]{43}$/);
    // A boolean, not a Promise: nothing is queued on libuv's pool for a CONNECT.
    expect(verifyDeviceSecret(secret, stored)).toBe(true);
    expect(verifyDeviceSecret(`${secret}x`, stored)).toBe(false);
    expect(verifyDeviceSecret(secret, 'sha256$short')).toBe(false);
    expect(isLegacyDeviceHash(stored)).toBe(false);
  });

  it('are never shorter than 128 bits, generated or stored', () => {
    for (let i = 0; i < 20; i++) {
      expect(generateSecret().length).toBeGreaterThanOrEqual(deviceSecretMinLength);
    }
    expect(() => hashDeviceSecret('x'.repeat(deviceSecretMinLength - 1))).toThrow(/128 bits/);
    expect(hashDeviceSecret('x'.repeat(deviceSecretMinLength))).toMatch(/^sha256\$/);
  });

  it('still accept a hash of an earlier version (scrypt) until it is upgraded', async () => {
    const secret = generateSecret();
    const legacy = await hashSecret(secret, secretCost.device);
    expect(isLegacyDeviceHash(legacy)).toBe(true);
    await expect(verifyDeviceSecret(secret, legacy)).resolves.toBe(true);
    await expect(verifyDeviceSecret(`${secret}x`, legacy)).resolves.toBe(false);
  });
});
