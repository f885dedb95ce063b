import {
  devicePublishKinds,
  deviceSubscribeKinds,
  parseDeviceTopic,
  parseDeviceTopicFilter,
  type DeviceTopicKind,
} from '../domain/index.js';

/**
 * A device may publish only under its own prefix and subscribe only to its own
 * command topic (architecture.md, "Contracts"). Identity comes from the MQTT
 * credentials, never from the topic or payload. Pure, so every rule is tested.
 */
export function publishKindFor(deviceId: string, topic: string): DeviceTopicKind | null {
  const parsed = parseDeviceTopic(topic);
  if (!parsed || parsed.deviceId !== deviceId) return null;
  return devicePublishKinds.includes(parsed.kind) ? parsed.kind : null;
}

export function maySubscribe(deviceId: string, topic: string): boolean {
  // parseDeviceTopic refuses '+' and '#' in the id, and $SYS is outside devices/.
  const parsed = parseDeviceTopic(topic);
  return (
    parsed !== null && parsed.deviceId === deviceId && deviceSubscribeKinds.includes(parsed.kind)
  );
}

/**
 * Service accounts (`service:<component>`): the hub's own components and
 * integrations such as Node-RED. They may watch every device's topics through
 * `devices/+/<kind>` (the only wildcard anyone gets) and send commands, but
 * never `#`, never `$SYS`, never impersonate a device's publishes.
 */
export const servicePrefix = 'service:';

export function isServiceUsername(username: string | undefined): boolean {
  return (
    typeof username === 'string' &&
    username.startsWith(servicePrefix) &&
    /^[a-z][a-z0-9-]{0,31}$/.test(username.slice(servicePrefix.length))
  );
}

export function serviceMaySubscribe(topic: string): boolean {
  return parseDeviceTopicFilter(topic) !== null;
}

export function serviceMayPublish(topic: string): boolean {
  return parseDeviceTopic(topic)?.kind === 'commands';
}

/** A last will is allowed only on the device's own status topic. */
export function willAllowed(username: string | undefined, willTopic: string): boolean {
  if (!username || isServiceUsername(username)) return false;
  const parsed = parseDeviceTopic(willTopic);
  return parsed !== null && parsed.deviceId === username && parsed.kind === 'status';
}
