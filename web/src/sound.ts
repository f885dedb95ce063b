/**
 * Alarm tones by severity on WebAudio (issue #13; ThingsBoard #10081 has
 * none). Browsers allow sound only after a user gesture: `enable()` is the
 * one click; muting is remembered per user in localStorage.
 */
const tones: Record<string, { hz: number; beeps: number }> = {
  critical: { hz: 880, beeps: 3 },
  major: { hz: 660, beeps: 2 },
  minor: { hz: 440, beeps: 1 },
};

let ctx: AudioContext | null = null;

export const soundKey = (username: string) => `hub.sound.muted.${username}`;

export function enable(): boolean {
  if (!ctx) {
    try {
      ctx = new AudioContext();
    } catch {
      return false;
    }
  }
  void ctx.resume();
  return true;
}

export const enabled = (): boolean => ctx !== null;

/** The audio context's state (`running` once the click resumed it), or `none`. */
export const state = (): string => ctx?.state ?? 'none';

/** The state once the context resumed (or refused to). */
export async function resumed(): Promise<string> {
  await ctx?.resume().catch(() => undefined);
  return state();
}

/** Plays the tone of a severity; returns whether one played. */
export function play(severity: string): boolean {
  const tone = tones[severity];
  if (!ctx || !tone) return false;
  const start = ctx.currentTime + 0.02;
  for (let k = 0; k < tone.beeps; k++) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = tone.hz;
    osc.type = 'square';
    const t0 = start + k * 0.3;
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + 0.22);
  }
  return true;
}
