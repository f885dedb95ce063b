import { describe, expect, it } from 'vitest';
import {
  isServiceUsername,
  maySubscribe,
  publishKindFor,
  serviceMayPublish,
  serviceMaySubscribe,
  willAllowed,
} from './acl.js';

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

describe('the service-account ACL and the last-will rule', () => {
  it('lets a service account watch devices/+/<kind> and exact device topics only', () => {
    for (const t of ['devices/+/telemetry', 'devices/+/commands/ack', 'devices/SL-1/status']) {
      expect(serviceMaySubscribe(t), t).toBe(true);
    }
    for (const t of ['#', 'devices/#', 'devices/+/+', 'devices/+/telemetry/#', '$SYS/#', 'x/+']) {
      expect(serviceMaySubscribe(t), t).toBe(false);
    }
  });

  it('lets a service account publish device commands only', () => {
    expect(serviceMayPublish('devices/SL-1/commands')).toBe(true);
    for (const t of ['devices/SL-1/telemetry', 'devices/SL-1/status', '$SYS/x', 'hub/x']) {
      expect(serviceMayPublish(t), t).toBe(false);
    }
  });

  it('allows a last will only on the device own status topic', () => {
    expect(willAllowed('SL-1', 'devices/SL-1/status')).toBe(true);
    expect(willAllowed('SL-1', 'devices/SL-2/status')).toBe(false);
    expect(willAllowed('SL-1', 'devices/SL-1/telemetry')).toBe(false);
    expect(willAllowed(undefined, 'devices/SL-1/status')).toBe(false);
    expect(willAllowed('service:rules', 'devices/SL-1/status')).toBe(false);
  });

  it('knows a service username when it sees one', () => {
    expect(isServiceUsername('service:node-red')).toBe(true);
    for (const u of ['service:', 'service:Rules', 'service:a/b', 'SL-1', undefined]) {
      expect(isServiceUsername(u), String(u)).toBe(false);
    }
  });
});
