import { describe, expect, it } from 'vitest';
import { loadConfig } from '../hub/config.js';
import type { IncomingMessage } from 'node:http';
import {
  cookieIsSecure,
  maskSecrets,
  originAllowed,
  parseAllowedOrigins,
  parseTrustProxy,
} from './http-config.js';

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

describe('the origins allowed to open socket.io', () => {
  const req = (headers: Record<string, string>, peer = '127.0.0.1') =>
    ({ headers, socket: { remoteAddress: peer } }) as unknown as IncomingMessage;

  it('reads HTTP_ALLOWED_ORIGINS as origins and refuses anything else, naming it', () => {
    expect(loadConfig({}).httpAllowedOrigins).toEqual([]);
    expect(
      loadConfig({ HTTP_ALLOWED_ORIGINS: 'https://ops.example.gov.cn, http://10.0.0.5:8080/' })
        .httpAllowedOrigins,
    ).toEqual(['https://ops.example.gov.cn', 'http://10.0.0.5:8080']);
    expect(() => loadConfig({ HTTP_ALLOWED_ORIGINS: 'ops.example.gov.cn' })).toThrow(
      /HTTP_ALLOWED_ORIGINS.*"ops\.example\.gov\.cn"/,
    );
    expect(() => parseAllowedOrigins('https://a.example/path')).toThrow(/a\.example\/path/);
    expect(() => parseAllowedOrigins('ftp://a.example')).toThrow(/ftp/);
  });

  it("lets the hub's own origin, listed origins and clients without Origin in", () => {
    const host = { host: 'hub.local:8080' };
    expect(originAllowed(req(host), false, [])).toBe(true);
    expect(originAllowed(req({ ...host, origin: 'http://hub.local:8080' }), false, [])).toBe(true);
    expect(originAllowed(req({ ...host, origin: 'https://HUB.local:8080' }), false, [])).toBe(true);
    expect(originAllowed(req({ ...host, origin: 'http://evil.example' }), false, [])).toBe(false);
    expect(originAllowed(req({ ...host, origin: 'null' }), false, [])).toBe(false);
    expect(
      originAllowed(req({ ...host, origin: 'https://ops.example' }), false, [
        'https://ops.example',
      ]),
    ).toBe(true);
  });

  it('believes X-Forwarded-Host only from a proxy TRUST_PROXY trusts', () => {
    const headers = {
      host: '127.0.0.1:8080',
      'x-forwarded-host': 'hub.example.gov.cn',
      origin: 'https://hub.example.gov.cn',
    };
    expect(originAllowed(req(headers, '127.0.0.1'), '127.0.0.1', [])).toBe(true);
    expect(originAllowed(req(headers, '10.9.9.9'), '127.0.0.1', [])).toBe(false);
    expect(originAllowed(req(headers, '10.9.9.9'), false, [])).toBe(false);
    // Without trust, the forwarded host is ignored and the Host header counts.
    expect(originAllowed(req({ ...headers, origin: 'http://127.0.0.1:8080' }), false, [])).toBe(
      true,
    );
  });
});
