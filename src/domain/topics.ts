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
/**
 * The JSON-schema string of the same pattern; departments and crews take the
 * same safe key (they appear in topics and URLs too).
 */
export const deviceIdPatternSource = deviceIdPattern.source;

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
 * A subscription filter on device topics: an exact device topic, or the same
 * with `+` for the device id (what service accounts may use). Null otherwise.
 */
export function parseDeviceTopicFilter(
  filter: string,
): { readonly deviceId: string | '+'; readonly kind: DeviceTopicKind } | null {
  if (filter.startsWith('devices/+/')) {
    const kind = filter.slice('devices/+/'.length);
    return (deviceTopicKinds as readonly string[]).includes(kind)
      ? { deviceId: '+', kind: kind as DeviceTopicKind }
      : null;
  }
  return parseDeviceTopic(filter);
}
