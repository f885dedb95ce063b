import type { AuthenticateError, Client } from 'aedes';
import type { DeviceIdentity } from '../db/index.js';
import {
  hashDeviceSecret,
  hashSecret,
  isLegacyDeviceHash,
  secretCost,
  verifyDeviceSecret,
  verifySecret,
} from '../domain/index.js';
import { isServiceUsername, willAllowed } from './acl.js';
import { infoOf, type BrokerContext } from './context.js';
import type { DeviceDirectory } from './directory.js';
import { createAuthThrottle, defaultAuthThrottle, type AuthThrottleOptions } from './limits.js';

// MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3].
const identifierRejected = 2;
const serverUnavailable = 3;
const badCredentials = 4;
const notAuthorised = 5;

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export interface AuthOptions {
  readonly maxConnections: number;
  /** Password of the `service:<component>` accounts; none when empty. */
  readonly servicePassword?: string;
  readonly authThrottle?: AuthThrottleOptions;
  /**
   * A device connected with a secret whose stored hash is of an earlier
   * version (scrypt): `hash` is its new form, to store where `before` still is.
   */
  readonly onSecretUpgrade?: (device: DeviceIdentity, before: string) => void;
}

/**
 * Who may connect (#6): username = device id and password = its secret
 * (a SHA-256 digest checked in microseconds, decision 0135; a legacy scrypt
 * hash is verified once and upgraded), `service:<name>` accounts,
 * the last-will rule, the connection cap and a per-address failure throttle.
 * Installs Aedes' `preConnect` and `authenticate`.
 */
export async function installAuth(
  ctx: BrokerContext,
  directory: DeviceDirectory,
  options: AuthOptions,
): Promise<void> {
  const { aedes, logger, metrics, counters } = ctx;
  const maxConnections = options.maxConnections;
  const badWill = new WeakSet<Client>();
  const emptyIdKeepingSession = new WeakSet<Client>();
  const throttle = createAuthThrottle(options.authThrottle ?? defaultAuthThrottle);
  const servicePasswordHash = options.servicePassword
    ? await hashSecret(options.servicePassword, secretCost.device)
    : null;

  aedes.preConnect = (client, packet, done) => {
    // Aedes answers any protocol but 3.1/3.1.1 with CONNACK 0x01 itself [MQTT-3.1.2-2];
    // it is counted here so an operator sees MQTT 5 devices knocking.
    if (packet.protocolVersion !== 3 && packet.protocolVersion !== 4) {
      counters.protocolRefusals++;
      metrics.authFailures.inc({ reason: 'protocol_version' });
      logger.warn(
        { address: infoOf(ctx, client).address, version: packet.protocolVersion },
        'MQTT version refused (the hub speaks 3.1.1)',
      );
    }
    if (packet.will && !willAllowed(packet.username, packet.will.topic)) badWill.add(client);
    // A session kept under an id the server made up could never be resumed [MQTT-3.1.3-8].
    if (!packet.clientId && packet.clean === false) emptyIdKeepingSession.add(client);
    done(null, true);
  };

  /** A legacy hash verified: this node uses the fast form at once, the registry on its next write. */
  const upgrade = (device: DeviceIdentity, secret: string) => {
    if (!isLegacyDeviceHash(device.secretHash) || secret.length === 0) return;
    let secretHash: string;
    try {
      secretHash = hashDeviceSecret(secret);
    } catch {
      // A legacy secret shorter than today's minimum keeps its scrypt hash until it is re-keyed.
      return;
    }
    counters.secretUpgrades++;
    directory.set(device.id, { ...device, secretHash });
    options.onSecretUpgrade?.({ ...device, secretHash }, device.secretHash);
  };

  aedes.authenticate = (client, username, password, done) => {
    const { address } = infoOf(ctx, client);
    const secret = password?.toString('utf8') ?? '';
    const refuse = (code: number, why: string, reason: string) => {
      counters.authFailures++;
      metrics.authFailures.inc({ reason });
      const failures = throttle.failed(address);
      logger.warn({ clientId: client.id, username, address, why, failures }, 'client refused');
      done(authError(code, why), false);
    };
    const decide = () => {
      if (client.closed) return;
      if (emptyIdKeepingSession.has(client)) {
        counters.protocolRefusals++;
        metrics.authFailures.inc({ reason: 'identifier_rejected' });
        return done(
          authError(identifierRejected, 'empty client id needs clean session [MQTT-3.1.3-8]'),
          false,
        );
      }
      if (aedes.connectedClients >= maxConnections) {
        counters.authFailures++;
        metrics.authFailures.inc({ reason: 'max_connections' });
        logger.warn({ max: maxConnections }, 'HUB_ERR_MQTT_TOO_MANY_CONNECTIONS');
        return done(authError(serverUnavailable, 'too many connections'), false);
      }
      if (badWill.has(client)) {
        return refuse(notAuthorised, 'last will outside own status topic', 'will_forbidden');
      }
      const accept = (ok: boolean, onOk: () => void, onBad: () => void) => {
        if (!ok) return onBad();
        throttle.succeeded(address);
        onOk();
        done(null, true);
      };
      if (isServiceUsername(username)) {
        if (!servicePasswordHash)
          return refuse(badCredentials, 'no service accounts', 'bad_credentials');
        return void verifySecret(secret, servicePasswordHash).then((ok) =>
          accept(
            ok,
            () => ctx.services.add(client),
            () => refuse(badCredentials, 'wrong service password', 'bad_credentials'),
          ),
        );
      }
      const device = username ? directory.get(username) : undefined;
      if (!device)
        return refuse(badCredentials, 'unknown device or wrong secret', 'bad_credentials');
      if (!device.enabled) return refuse(notAuthorised, 'device disabled', 'disabled');
      const admit = () => ctx.deviceOf.set(client, device);
      const wrong = () =>
        refuse(badCredentials, 'unknown device or wrong secret', 'bad_credentials');
      const checked = verifyDeviceSecret(secret, device.secretHash);
      if (typeof checked === 'boolean') return accept(checked, admit, wrong);
      checked.then(
        (ok) =>
          accept(
            ok,
            () => {
              upgrade(device, secret);
              admit();
            },
            wrong,
          ),
        (err: unknown) => {
          logger.error({ err }, 'secret verification failed');
          refuse(notAuthorised, 'verification error', 'error');
        },
      );
    };
    const delay = throttle.delayFor(address);
    if (delay > 0) {
      // Slow an address that keeps failing: its CONNACK waits [#6].
      counters.throttledConnects++;
      setTimeout(decide, delay).unref();
    } else {
      decide();
    }
  };
}
