/**
 * Whether devices are connecting in a storm (a city reconnecting after a power
 * cut or a broker restart): at least `connectsPerS` CONNECTs in the current or
 * the last whole second. Read lazily from the broker's connect counter, so it
 * costs nothing per CONNECT; the login guard asks it before each password hash
 * (decision 0213: logins yield to a reconnecting fleet).
 */
export function createStormWatch(
  connects: () => number,
  connectsPerS: number,
  now: () => number = Date.now,
): () => boolean {
  let windowStart = now();
  let atStart = connects();
  let lastWindow = 0;
  return () => {
    const t = now();
    const count = connects();
    if (t - windowStart >= 1000) {
      // A gap of several seconds averages out: a storm that ended long ago is not one now.
      lastWindow = t - windowStart < 2000 ? count - atStart : 0;
      windowStart = t;
      atStart = count;
    }
    return connectsPerS > 0 && (count - atStart >= connectsPerS || lastWindow >= connectsPerS);
  };
}
