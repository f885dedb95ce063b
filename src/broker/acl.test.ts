import { describe, expect, it } from 'vitest';
import { maySubscribe, publishKindFor } from './acl.js';

describe('the device topic ACL', () => {
  it('lets a device publish telemetry, events, status and command acks under its own id', () => {
    for (const kind of ['telemetry', 'events', 'status', 'commands/ack']) {
      expect(publishKindFor('SL-00001', `devices/SL-00001/${kind}`)).toBe(kind);
    }
  });

  it.each([
    'devices/SL-00002/telemetry',
    'devices/SL-00001/commands',
    'devices/SL-00001/telemetry/extra',
    'devices/+/telemetry',
    '$SYS/broker/uptime',
    'telemetry',
  ])('refuses a publish to %s', (topic) => {
    expect(publishKindFor('SL-00001', topic)).toBeNull();
  });

  it('lets a device subscribe only to its own command topic, never with wildcards', () => {
    expect(maySubscribe('SL-00001', 'devices/SL-00001/commands')).toBe(true);
    for (const t of [
      'devices/SL-00002/commands',
      'devices/+/commands',
      'devices/#',
      '#',
      '$SYS/#',
      'devices/SL-00001/telemetry',
    ]) {
      expect(maySubscribe('SL-00001', t), t).toBe(false);
    }
  });
});
