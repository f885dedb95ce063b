import { describe, expect, it } from 'vitest';
import { loadConfig } from '../hub/config.js';
import { cookieIsSecure, maskSecrets, parseTrustProxy } from './http-config.js';

describe('session and proxy configuration', () => {
  it('defaults: sweep every minute, cookie Secure on https only, no proxy trusted', () => {
    const c = loadConfig({});
    expect(c.sessionSweepIntervalMs).toBe(60_000);
    expect(c.cookieSecure).toBe('auto');
    expect(c.trustProxy).toBe(false);
  });

  it('reads SESSION_SWEEP_INTERVAL_MS, COOKIE_SECURE and TRUST_PROXY', () => {
    const c = loadConfig({
      SESSION_SWEEP_INTERVAL_MS: '1000',
      COOKIE_SECURE: 'true',
      TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1',
    });
    expect(c.sessionSweepIntervalMs).toBe(1000);
    expect(c.cookieSecure).toBe('true');
    expect(c.trustProxy).toBe('127.0.0.1,10.0.0.0/8,::1');
  });

  it('refuses bad values with the variable named', () => {
    expect(() => loadConfig({ COOKIE_SECURE: 'yes' })).toThrow(/COOKIE_SECURE.*"yes"/);
    expect(() => loadConfig({ SESSION_SWEEP_INTERVAL_MS: '5' })).toThrow(
      /SESSION_SWEEP_INTERVAL_MS/,
    );
    expect(() => loadConfig({ TRUST_PROXY: 'nginx.local' })).toThrow(/TRUST_PROXY.*"nginx\.local"/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
  });

  it('parses TRUST_PROXY as off, any hop, the nearest n hops or addresses', () => {
    expect(parseTrustProxy('')).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    const two = parseTrustProxy('2') as (address: string, hop: number) => boolean;
    expect([0, 1, 2].map((hop) => two('10.0.0.1', hop))).toEqual([true, true, false]);
    expect(parseTrustProxy('192.168.1.10')).toBe('192.168.1.10');
    expect(() => parseTrustProxy('192.168.1.10,')).toThrow(/""/);
  });

  it('sets Secure per COOKIE_SECURE and the request protocol', () => {
    expect(cookieIsSecure('auto', 'https')).toBe(true);
    expect(cookieIsSecure('auto', 'http')).toBe(false);
    expect(cookieIsSecure('true', 'http')).toBe(true);
    expect(cookieIsSecure('false', 'https')).toBe(false);
  });
});

describe('request bodies in the audit log', () => {
  it('masks password, secret and token fields at any depth and keeps the rest', () => {
    expect(
      maskSecrets({
        username: 'op1',
        password: 'hunter2-long-enough',
        currentPassword: 'a',
        newPassword: 'b',
        webhook: { url: 'https://x', secret: 's3cret-value-16ch' },
        tokens: ['t1'],
        role: 'operator',
        crewId: null,
      }),
    ).toEqual({
      username: 'op1',
      password: '***',
      currentPassword: '***',
      newPassword: '***',
      webhook: { url: 'https://x', secret: '***' },
      tokens: '***',
      role: 'operator',
      crewId: null,
    });
  });

  it('masks API keys, credentials and the user:password of URLs', () => {
    expect(
      maskSecrets({
        apiKey: 'k',
        private_key: 'p',
        credentials: { user: 'u' },
        url: 'https://gw:pa55@sms.example.cn/send?x=1',
        note: 'mail ops@example.cn',
      }),
    ).toEqual({
      apiKey: '***',
      private_key: '***',
      credentials: '***',
      url: 'https://***@sms.example.cn/send?x=1',
      note: 'mail ops@example.cn',
    });
  });

  it('cuts long strings and arrays', () => {
    const masked = maskSecrets({
      note: 'x'.repeat(600),
      ids: Array.from({ length: 60 }, (_, i) => i),
    }) as {
      note: string;
      ids: unknown[];
    };
    expect(masked.note).toMatch(/… \(600 chars\)$/);
    expect(masked.ids).toHaveLength(51);
  });
});
