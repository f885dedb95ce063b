import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, type MqttClient } from 'mqtt';
import { deviceTopic } from '../domain/index.js';
import type { DeviceCredential } from './credentials.js';
import { playScript, type ScenarioScript } from './scenarios.js';

/**
 * Plays a scripted scenario (scenarioScripts) over MQTT against a running
 * hub, by hand: `npm run simulate -- --scenario rainstorm --speed 10`.
 *
 * Readings carry the script's own time, shifted so the script ends when the
 * playing does: at `speed` 1 a reading is stamped when it is sent; faster,
 * the script starts `durationMin × (1 − 1/speed)` minutes in the past and
 * catches up, so no reading is ever ahead of the hub's clock and every rule
 * judged on reading time (holds, windows, levels, rates) sees exactly the
 * script. Rules judged on the hub's own clock (offline, the lighting rate)
 * need real time: faster than real time only the devices the situation acts
 * on play (the others' late readings would look like silence), and
 * `power-cut`, which is silence, plays at speed 1 only.
 */

export interface ScriptPlayOptions {
  readonly url: string;
  readonly devices: readonly DeviceCredential[];
  readonly script: ScenarioScript;
  /** Script minutes per real minute; 1 is real time. */
  readonly speed: number;
  readonly qos?: 0 | 1;
  readonly now?: () => number;
  readonly connectConcurrency?: number;
  readonly signal?: AbortSignal;
}

export interface ScriptPlayResult {
  readonly devices: number;
  readonly published: number;
  readonly failed: number;
}

/** What a play will do, without connecting: for the CLI's first line and for tests. */
export function planScript(o: Pick<ScriptPlayOptions, 'devices' | 'script' | 'speed'>) {
  const { script, speed } = o;
  if (!(speed >= 1) || !Number.isFinite(speed))
    throw new Error(`The speed must be a number ≥ 1, not ${speed}.`);
  if (speed > 1 && script.name === 'power-cut')
    throw new Error(
      'power-cut is silence, judged by the hub’s own clock (offline after 3 × the interval): play it at --speed 1.',
    );
  const fleet = o.devices.map((d) => ({
    id: d.id,
    type: d.type,
    gridCode: d.gridCode,
    road: d.road,
  }));
  const targets = script.targets(fleet);
  if (targets.length === 0)
    throw new Error(
      `Scenario ${script.name} finds no device to act on in the credentials file` +
        (fleet.some((d) => d.type === 'streetlight' && d.road)
          ? '.'
          : ' (lamp scenarios need its road column, which hubs write since #4).'),
    );
  return { fleet, targets, realMs: (script.durationMin * 60_000) / speed };
}

export async function playScriptOverMqtt(o: ScriptPlayOptions): Promise<ScriptPlayResult> {
  const now = o.now ?? Date.now;
  const qos = o.qos ?? 1;
  const { fleet, targets, realMs } = planScript(o);
  const startWall = now();
  const t0 = startWall + realMs - o.script.durationMin * 60_000;
  let readings = playScript(o.script, fleet, t0);
  if (o.speed > 1) {
    const ids = new Set(targets.map((d) => d.id));
    readings = readings.filter((r) => ids.has(r.deviceId));
  }
  const secrets = new Map(o.devices.map((d) => [d.id, d.secret]));
  const playing = [...new Set(readings.map((r) => r.deviceId))];
  const clients = new Map<string, MqttClient>();
  const concurrency = Math.max(1, o.connectConcurrency ?? 50);
  const closeAll = () => Promise.all([...clients.values()].map((c) => c.endAsync()));
  try {
    for (let i = 0; i < playing.length; i += concurrency) {
      await Promise.all(
        playing.slice(i, i + concurrency).map(async (id) => {
          const client = await connectAsync(o.url, {
            clientId: id,
            username: id,
            password: secrets.get(id)!,
            reconnectPeriod: 0,
            connectTimeout: 10_000,
          }).catch((err: unknown) => {
            throw new Error(
              `Device ${id} could not connect to ${o.url}: ${err instanceof Error ? err.message : String(err)}`,
            );
          });
          clients.set(id, client);
        }),
      );
    }
    const seq = new Map<string, number>();
    const pending: Promise<void>[] = [];
    let failed = 0;
    for (const r of readings) {
      const due = startWall + (r.timeMs - t0) / o.speed;
      const wait = due - now();
      if (wait > 0) await sleep(wait, undefined, { signal: o.signal }).catch(() => {});
      if (o.signal?.aborted) break;
      const n = (seq.get(r.deviceId) ?? 0) + 1;
      seq.set(r.deviceId, n);
      const payload = JSON.stringify({ ts: r.timeMs, seq: n, ...r.metrics });
      pending.push(
        clients
          .get(r.deviceId)!
          .publishAsync(deviceTopic(r.deviceId, 'telemetry'), payload, { qos })
          .then(
            () => undefined,
            () => void failed++,
          ),
      );
    }
    await Promise.all(pending);
    return { devices: playing.length, published: pending.length - failed, failed };
  } finally {
    await closeAll();
  }
}
