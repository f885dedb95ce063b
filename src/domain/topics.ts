/**
 * Every MQTT topic of the hub is built and parsed here; no other file joins
 * topic strings (style.md, lesson 3). Contract: docs/mqtt.md.
 */

export const deviceTopicKinds = [
  'telemetry',
  'events',
  'status',
  'commands',
  'commands/ack',
] as const;
export type DeviceTopicKind = (typeof deviceTopicKinds)[number];

/** What a device may publish to under its own prefix. */
export const devicePublishKinds: readonly DeviceTopicKind[] = [
  'telemetry',
  'events',
  'status',
  'commands/ack',
];
/** What a device may subscribe to. */
export const deviceSubscribeKinds: readonly DeviceTopicKind[] = ['commands'];

/** Device ids are topic-safe: no '/', '+', '#', no leading '$'. */
export const deviceIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && deviceIdPattern.test(value);
}

export function deviceTopic(deviceId: string, kind: DeviceTopicKind): string {
  return `devices/${deviceId}/${kind}`;
}

export interface ParsedDeviceTopic {
  readonly deviceId: string;
  readonly kind: DeviceTopicKind;
}

export function parseDeviceTopic(topic: string): ParsedDeviceTopic | null {
  if (!topic.startsWith('devices/')) return null;
  const rest = topic.slice('devices/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const deviceId = rest.slice(0, slash);
  const kind = rest.slice(slash + 1);
  if (!isDeviceId(deviceId)) return null;
  if (!(deviceTopicKinds as readonly string[]).includes(kind)) return null;
  return { deviceId, kind: kind as DeviceTopicKind };
}

/**
 * Subscription filters a service account may use (`+` stands for any device
 * id). Devices never get wildcards.
 */
export function deviceTopicFilter(kind: DeviceTopicKind): string {
  return `devices/+/${kind}`;
}

/** A service account's own prefix, for hub components that talk among themselves. */
export const serviceTopicPrefix = 'hub/';
