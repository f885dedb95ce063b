import type { Client } from 'aedes';
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
  /**
   * A device held over its rate without a break for longer than this is cut
   * off (connection closed); 600 s unless configured (MQTT_RATE_HOLD_MAX_S).
   */
  readonly rateHoldMaxMs?: number;
  /** A payload the broker refused as too large (the hub dead-letters it: never a silent drop). */
  readonly onOversize?: (device: DeviceIdentity, topic: string, payload: Buffer) => void;
  /** A device's publish on its own `commands/ack` topic (the command service). */
  readonly onCommandAck?: (device: DeviceIdentity, payload: Buffer) => void;
  /** Every publish of a connected device (presence refreshes its last-seen time). */
  readonly onSeen: (deviceId: string) => void;
  /**
   * Once a window (a minute), the publishes of each device that came over its
   * rate (held, or refused at a cut-off), for the rate-abuse alarm; an empty
   * window is reported too (it is how a device that behaves again clears its
   * alarm).
   */
  readonly onDrops?: (drops: ReadonlyMap<string, number>, windowStartMs: number) => void;
  /** The drop-count window; 60 s unless a test shortens it. */
  readonly dropWindowMs?: number;
}

/** Aedes' keepalive timer of a client (internal, `lib/handlers/index.js` refreshes it per packet). */
const keepaliveOf = (client: Client) =>
  (client as unknown as { _keepaliveTimer?: NodeJS.Timeout | null })._keepaliveTimer;

/** Publishes over the rate within a minute after which the device is named in a warning. */
const abuseDropsPerMinute = 100;

/**
 * A device's publishes waiting for tokens (issue 17: slowed, not acknowledged
 * and discarded). While any wait, Aedes reads nothing more from the device's
 * socket (it reads the next chunk only once every packet of the last one has
 * completed), so the queue holds at most one socket read of packets and the
 * device's own TCP window does the rest: backpressure.
 */
interface Held {
  readonly client: Client;
  readonly queue: { readonly run: () => void; readonly fail: (err: Error) => void }[];
  /** When the device last had a token for a publish on arrival: held without a break since. */
  readonly since: number;
  timer: NodeJS.Timeout | null;
}

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
  const holdMaxMs = options.rateHoldMaxMs ?? 600_000;
  const held = new Map<string, Held>();
  let dropsThisMinute = new Map<string, number>();
  let windowStartMs = Date.now();
  const abuseTimer = setInterval(() => {
    const drops = dropsThisMinute;
    const start = windowStartMs;
    dropsThisMinute = new Map();
    windowStartMs = Date.now();
    // Still waiting counts in the new window too: a device held all minute was over its
    // rate all minute, though Aedes read nothing new from it.
    for (const [id, h] of held) if (h.queue.length > 0) dropsThisMinute.set(id, h.queue.length);
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
    if (kind !== 'status') {
      const h = held.get(device.id);
      // Behind held publishes (order kept), or over the rate: wait for a token. The
      // callback, and so the PUBACK and the next read of the socket, waits with it.
      if (h?.queue.length || !limiter.take(device.id)) {
        const topic = packet.topic;
        return hold(
          client,
          device.id,
          () => accept(device, kind, topic, payload, done),
          (err) => done(err),
        );
      }
      if (h) held.delete(device.id); // a token on arrival: the run of held publishes is over
    }
    accept(device, kind, packet.topic, payload, done);
  };

  const accept = (
    device: DeviceIdentity,
    kind: DeviceTopicKind,
    topic: string,
    payload: Buffer,
    done: (err?: Error | null) => void,
  ) => {
    metrics.messagesIn.inc();
    if (kind === 'commands/ack') options.onCommandAck?.(device, payload);
    onPublish(device, kind, topic, payload, done);
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

  const overRate = (deviceId: string) => {
    const n = (dropsThisMinute.get(deviceId) ?? 0) + 1;
    dropsThisMinute.set(deviceId, n);
    return n;
  };

  /** Sustained abuse: the held publishes are refused (not acknowledged) and the connection closes. */
  const cutOff = (deviceId: string, h: Held) => {
    if (h.timer) clearTimeout(h.timer);
    held.delete(deviceId);
    counters.rateCutOffs++;
    metrics.drops.inc({ reason: 'rate_abuse' }, h.queue.length);
    for (let i = 0; i < h.queue.length; i++) overRate(deviceId);
    logger.warn(
      {
        deviceId,
        code: 'HUB_ERR_MQTT_RATE_LIMITED',
        heldS: Math.round((Date.now() - h.since) / 1000),
        refused: h.queue.length,
      },
      'device held over its rate for too long; connection closed',
    );
    const err = new HubError('HUB_ERR_MQTT_RATE_LIMITED', `${deviceId} over its rate`);
    for (const p of h.queue.splice(0)) p.fail(err);
  };

  const drain = (deviceId: string, h: Held) => {
    h.timer = null;
    if (held.get(deviceId) !== h) return;
    if (h.client.closed) {
      // Gone: nothing acknowledged, the device sends them again on its next connection.
      held.delete(deviceId);
      return;
    }
    let released = false;
    while (h.queue.length > 0 && limiter.take(deviceId)) {
      h.queue.shift()!.run();
      released = true;
    }
    // Aedes refreshes a client's keepalive when it reads a packet; a held device sent its
    // packets long ago and we are the ones not reading, so its keepalive must not run out
    // (1.5 × keepalive: 90 s for mqtt.js' default, a few hundred publishes at 10/s).
    if (released) keepaliveOf(h.client)?.refresh();
    if (h.queue.length === 0) return; // still "held": the next over-rate publish continues the run
    if (Date.now() - h.since > holdMaxMs) return cutOff(deviceId, h);
    h.timer = setTimeout(drain, limiter.msUntilToken(deviceId), deviceId, h);
  };

  /** Queues a publish until the device has a token; false when the device is cut off instead. */
  const hold = (client: Client, deviceId: string, run: () => void, fail: (err: Error) => void) => {
    let h = held.get(deviceId);
    if (!h || h.client !== client) {
      if (h?.timer) clearTimeout(h.timer);
      h = { client, queue: [], since: Date.now(), timer: null };
      held.set(deviceId, h);
    }
    counters.rateLimited++;
    metrics.rateHeld.inc();
    if (overRate(deviceId) === abuseDropsPerMinute) {
      logger.warn(
        { deviceId, code: 'HUB_ERR_MQTT_RATE_LIMITED', held: abuseDropsPerMinute },
        'device keeps publishing over its rate; its publishes are held',
      );
    }
    h.queue.push({ run, fail });
    if (Date.now() - h.since > holdMaxMs) return cutOff(deviceId, h);
    h.timer ??= setTimeout(drain, limiter.msUntilToken(deviceId), deviceId, h);
  };

  const forgetHeld = (client: Client) => {
    const device = ctx.deviceOf.get(client);
    const h = device && held.get(device.id);
    if (!h || h.client !== client) return;
    if (h.timer) clearTimeout(h.timer);
    held.delete(device.id);
  };
  aedes.on('clientDisconnect', forgetHeld);

  return () => {
    clearInterval(abuseTimer);
    aedes.removeListener('clientDisconnect', forgetHeld);
    for (const h of held.values()) if (h.timer) clearTimeout(h.timer);
    held.clear();
  };
}
