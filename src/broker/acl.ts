import {
  devicePublishKinds,
  deviceSubscribeKinds,
  parseDeviceTopic,
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
