/**
 * Raw MQTT 3.1.1 for the load generators: a device CONNECT as one buffer,
 * written straight to a socket (mqtt.js costs a generator more CPU than the
 * broker it measures spends on the same packets).
 */
import mqttPacket from 'mqtt-packet';

/** CONNECT of a device: clean session, no keepalive; anonymous without a secret. */
export function connectPacket(clientId: string, username?: string, secret?: string): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 0,
    ...(username && secret ? { username, password: Buffer.from(secret) } : {}),
  });
}

/** SUBSCRIBE of one topic at QoS 1. */
export function subscribePacket(topic: string, messageId = 1): Buffer {
  return mqttPacket.generate({
    cmd: 'subscribe',
    messageId,
    subscriptions: [{ topic, qos: 1 }],
  });
}
