import type { DeviceIdentity } from '../db/index.js';
import { HubError, parseDeviceTopic, type DeviceTopicKind } from '../domain/index.js';
import { maySubscribe, publishKindFor, serviceMayPublish, serviceMaySubscribe } from './acl.js';
import type { BrokerContext } from './context.js';
import { createRateLimiter } from './limits.js';
import { createClientWarnings } from './warn-limit.js';

/**
 * Receives every authorised publish of a device. `ack` completes the
 * publish: for QoS 1 the broker sends PUBACK only after it is called, so the
 * handler can hold it until the reading is durable (issue #3). Call it once;
 * an error closes the device's connection.
 */
export type PublishHandler = (
  device: DeviceIdentity,
  kind: DeviceTopicKind,
  topic: string,
  payload: Buffer,
  ack: (err?: Error | null) => void,
) => void;

export interface AuthorizeOptions {
  readonly maxPayloadBytes: number;
  readonly ratePerS?: number;
  readonly rateBurst?: number;
  /** A payload the broker refused as too large (the hub dead-letters it: never a silent drop). */
  readonly onOversize?: (device: DeviceIdentity, topic: string, payload: Buffer) => void;
  /** A device's publish on its own `commands/ack` topic (the command service). */
  readonly onCommandAck?: (device: DeviceIdentity, payload: Buffer) => void;
  /** Every publish of a connected device (presence refreshes its last-seen time). */
  readonly onSeen: (deviceId: string) => void;
  /**
   * Once a window (a minute), the rate-limited drops of each device that had
   * any, for the rate-abuse alarm; an empty window is reported too (it is how
   * a device that behaves again clears its alarm).
   */
  readonly onDrops?: (drops: ReadonlyMap<string, number>, windowStartMs: number) => void;
  /** The drop-count window; 60 s unless a test shortens it. */
  readonly dropWindowMs?: number;
}

/** Drops per minute after which a device is reported as abusing its rate. */
const abuseDropsPerMinute = 100;
/** Where a rate-limited publish goes: nowhere (no client can subscribe to `$` topics). */
const droppedTopic = '$HUB/dropped';
/** One empty payload for every dropped publish: a flood should not allocate per message. */
const noPayload = Buffer.alloc(0);

/**
 * What a connected client may do (#6): the topic ACL of `acl.ts` for publish
 * and subscribe, the payload cap, and the per-device token bucket. Authorised
 * device publishes go to `onPublish` synchronously. Returns a stop function.
 */
export function installAuthorize(
  ctx: BrokerContext,
  onPublish: PublishHandler,
  options: AuthorizeOptions,
): () => void {
  const { aedes, logger, metrics, counters } = ctx;
  const limiter = createRateLimiter(options.ratePerS ?? 10, options.rateBurst ?? 100);
  let dropsThisMinute = new Map<string, number>();
  let windowStartMs = Date.now();
  const abuseTimer = setInterval(() => {
    const drops = dropsThisMinute;
    const start = windowStartMs;
    dropsThisMinute = new Map();
    windowStartMs = Date.now();
    options.onDrops?.(drops, start);
  }, options.dropWindowMs ?? 60_000);
  abuseTimer.unref();

  const warnings = createClientWarnings(logger, {
    onSuppressed: () => counters.suppressedWarnings++,
  });
  aedes.on('clientDisconnect', (client) => warnings.closed(client));
  const tooLarge = (payload: Buffer) => payload.length > options.maxPayloadBytes;
  const refuseTooLarge = (fields: Record<string, unknown>, bytes: number) => {
    counters.oversize++;
    metrics.drops.inc({ reason: 'payload_too_large' });
    logger.warn({ ...fields, bytes }, 'HUB_ERR_PAYLOAD_TOO_LARGE');
    // MQTT 3.1.1 has no reason code for it: close, as for any bad packet.
    return new HubError('HUB_ERR_PAYLOAD_TOO_LARGE', `${bytes} bytes`);
  };

  const deny = (action: 'publish' | 'subscribe') => {
    counters.aclDenials++;
    metrics.aclDenials.inc({ action });
  };

  aedes.authorizePublish = (client, packet, done) => {
    if (!client) {
      // An obsolete last will of a client of a node that went away; validated at its CONNECT.
      return done(
        parseDeviceTopic(packet.topic)?.kind === 'status'
          ? null
          : new HubError('HUB_ERR_TOPIC_FORBIDDEN', packet.topic),
      );
    }
    if (ctx.services.has(client)) {
      if (!serviceMayPublish(packet.topic)) {
        deny('publish');
        return done(new HubError('HUB_ERR_TOPIC_FORBIDDEN', packet.topic));
      }
      // The payload limit holds for every account, services included (#17).
      const payload = packet.payload as Buffer;
      if (tooLarge(payload)) {
        return done(refuseTooLarge({ service: client.id, topic: packet.topic }, payload.length));
      }
      metrics.messagesIn.inc();
      return done(null);
    }
    const device = ctx.deviceOf.get(client);
    const kind = device ? publishKindFor(device.id, packet.topic) : null;
    if (!device || !kind) {
      deny('publish');
      warnings.warn(
        client,
        { deviceId: device?.id, topic: packet.topic },
        'publish outside own topics refused',
      );
      // An error closes the connection [MQTT-3.3.5-2]: a device that breaks its ACL is misconfigured.
      return done(new HubError('HUB_ERR_TOPIC_FORBIDDEN', packet.topic));
    }
    const payload = packet.payload as Buffer;
    if (tooLarge(payload)) {
      const err = refuseTooLarge({ deviceId: device.id }, payload.length);
      options.onOversize?.(device, packet.topic, payload);
      return done(err);
    }
    options.onSeen(device.id);
    if (kind !== 'status' && !limiter.take(device.id)) {
      counters.rateLimited++;
      metrics.drops.inc({ reason: 'rate_limited' });
      const drops = (dropsThisMinute.get(device.id) ?? 0) + 1;
      dropsThisMinute.set(device.id, drops);
      if (drops === abuseDropsPerMinute) {
        logger.warn(
          { deviceId: device.id, code: 'HUB_ERR_MQTT_RATE_LIMITED', drops },
          'device keeps publishing over its rate; excess dropped',
        );
      }
      // Acknowledged and discarded: no subscriber, not ingested.
      packet.topic = droppedTopic;
      packet.retain = false;
      packet.payload = noPayload;
      return done(null);
    }
    metrics.messagesIn.inc();
    if (kind === 'commands/ack') options.onCommandAck?.(device, payload);
    onPublish(device, kind, packet.topic, payload, done);
  };

  aedes.authorizeSubscribe = (client, sub, done) => {
    const device = ctx.deviceOf.get(client);
    const ok = ctx.services.has(client)
      ? serviceMaySubscribe(sub.topic)
      : device !== undefined && maySubscribe(device.id, sub.topic);
    if (!ok) {
      deny('subscribe');
      warnings.warn(client, { deviceId: device?.id, topic: sub.topic }, 'subscription refused');
      // Negate the subscription: SUBACK carries 0x80 for it [MQTT-3.9.3].
      return done(null, null);
    }
    done(null, sub);
  };

  aedes.authorizeForward = (_client, packet) => {
    metrics.messagesOut.inc();
    return packet;
  };

  return () => clearInterval(abuseTimer);
}
