import { configOf, statusFor } from './hub';
import type { Node, NodeAPI, NodeDef } from './red';

interface TelemetryDef extends NodeDef {
  hub?: string;
  /** `device`, `type` or `area`. */
  by?: string;
  value?: string;
  /** Also the `events` topic (state changes sent at once). */
  events?: boolean;
}

/** How often the device list of a type or area is re-read: new devices join without a redeploy. */
const refreshMs = 5 * 60_000;

/**
 * `telemetry in`: readings over MQTT through the service account
 * (`service:<account>`, MQTT_SERVICE_PASSWORD; docs/mqtt.md). By device: its
 * own topics. By type or area: `devices/+/telemetry`, kept to the devices the
 * REST API lists for that type or area.
 */
export = (RED: NodeAPI) => {
  RED.nodes.registerType('hub-telemetry-in', function (this: Node, def) {
    RED.nodes.createNode(this, def);
    const d = def as TelemetryDef;
    const node = this;
    const hub = configOf(RED, node, d.hub);
    if (!hub) return;
    const by = d.by ?? 'device';
    const value = String(d.value ?? '').trim();
    const kinds = d.events ? ['telemetry', 'events'] : ['telemetry'];
    if (by === 'device' && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(value)) {
      node.status(statusFor(RED, 'failed', 'device id'));
      node.error(new Error(`not a device id: "${value}"`), { topic: 'config', payload: value });
      return;
    }
    const filters = kinds.map((k) => `devices/${by === 'device' ? value : '+'}/${k}`);
    // Type and area: only the devices the hub lists, with their facility type.
    let devices: Map<string, string> | null = null;
    const loadDevices = async () => {
      const next = new Map<string, string>();
      for (let offset = 0; ; offset += 1000) {
        const page = await hub.request<{ total: number; devices: { id: string; type: string }[] }>(
          'GET',
          '/api/devices',
          { query: { [by === 'type' ? 'type' : 'grid']: value, limit: 1000, offset } },
        );
        for (const dev of page.devices) next.set(dev.id, dev.type);
        if (page.devices.length < 1000) break;
      }
      devices = next;
    };
    let timer: NodeJS.Timeout | undefined;
    if (by !== 'device') {
      const refresh = () =>
        loadDevices().catch((err: Error) => {
          node.status(statusFor(RED, 'failed', err.message));
          node.error(err, { topic: 'devices', payload: err.message });
        });
      void refresh();
      timer = setInterval(refresh, refreshMs);
    }
    const unwatch = hub.watch(
      filters,
      (topic, payload) => {
        const [, deviceId = '', kind] = topic.split('/');
        if (by !== 'device' && !devices?.has(deviceId)) return;
        let data: unknown;
        try {
          data = JSON.parse(payload.toString('utf8'));
        } catch {
          // The hub dead-letters bad payloads itself; a flow gets only readings.
          return;
        }
        node.send({
          topic,
          deviceId,
          kind,
          facilityType: devices?.get(deviceId),
          payload: data,
        });
      },
      (status) => node.status(status),
    );
    node.on('close', (_removed, done) => {
      if (timer) clearInterval(timer);
      unwatch();
      done();
    });
  });
};
