import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The broker's Prometheus metrics (#6), registered on the registry the hub
 * shares with every room (GET /metrics). Names follow Prometheus conventions:
 * `_total` for counters, base units (bytes).
 */
export function createBrokerMetrics(
  registry: Registry,
  live: { connections: () => number; devicesOnline: () => number; bytes: () => BytesSoFar },
) {
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers });
  const metrics = {
    connects: counter('hub_mqtt_connects_total', 'Accepted MQTT connections.', ['protocol']),
    authFailures: counter('hub_mqtt_auth_failures_total', 'Refused CONNECTs, by reason.', [
      'reason',
    ]),
    messagesIn: counter('hub_mqtt_messages_in_total', 'PUBLISH packets accepted from clients.'),
    messagesOut: counter(
      'hub_mqtt_messages_out_total',
      'PUBLISH packets forwarded to subscribers.',
    ),
    drops: counter('hub_mqtt_drops_total', 'Refused or dropped PUBLISH packets, by reason.', [
      'reason',
    ]),
    rateHeld: counter(
      'hub_mqtt_rate_held_total',
      'PUBLISH packets held back until the device had a token (over its rate: slowed, not dropped).',
    ),
    aclDenials: counter(
      'hub_mqtt_acl_denials_total',
      'Publishes and subscriptions the ACL refused.',
      ['action'],
    ),
  };
  new Gauge({
    name: 'hub_mqtt_connections',
    help: 'Open MQTT connections on this node.',
    registers,
    collect() {
      this.set(live.connections());
    },
  });
  new Gauge({
    name: 'hub_devices_online',
    help: 'Devices with at least one connection on this node.',
    registers,
    collect() {
      this.set(live.devicesOnline());
    },
  });
  new Gauge({
    name: 'hub_mqtt_bytes',
    help: 'Bytes received from and sent to MQTT clients since start (read from the sockets).',
    labelNames: ['direction'],
    registers,
    collect() {
      const b = live.bytes();
      this.set({ direction: 'in' }, b.in);
      this.set({ direction: 'out' }, b.out);
    },
  });
  return metrics;
}

export interface BytesSoFar {
  in: number;
  out: number;
}

export type BrokerMetrics = ReturnType<typeof createBrokerMetrics>;
