import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, isPublicAddress, maskUrl } from './webhook-targets.js';

describe('webhook targets', () => {
  it('takes public unicast addresses and refuses loopback, private, link-local, unspecified, multicast and embedded forms', () => {
    for (const a of ['8.8.8.8', '114.114.114.114', '2400:3200::1']) {
      expect(isPublicAddress(a)).toBe(true);
    }
    for (const a of [
      '127.0.0.1',
      '127.1.2.3',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '100.64.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '2002:7f00:1::',
      'not an address',
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });

  it('masks user:password in a URL and leaves others alone', () => {
    expect(maskUrl('https://bot:s3cret@gw.example.cn/hook?x=1')).toBe(
      'https://***@gw.example.cn/hook?x=1',
    );
    expect(maskUrl('https://gw.example.cn/hook')).toBe('https://gw.example.cn/hook');
  });

  it('refuses credentials and literal private targets without sending anything, unless private targets are allowed', async () => {
    await expect(checkWebhookUrl('https://a:b@gw.example.cn/', true)).rejects.toMatchObject({
      code: 'HUB_ERR_WEBHOOK_CREDENTIALS',
    });
    await expect(checkWebhookUrl('http://[::1]:8080/', false)).rejects.toMatchObject({
      code: 'HUB_ERR_WEBHOOK_TARGET',
    });
    await expect(checkWebhookUrl('http://localhost:8080/', false)).rejects.toMatchObject({
      code: 'HUB_ERR_WEBHOOK_TARGET',
    });
    await expect(checkWebhookUrl('http://127.0.0.1:8080/', true)).resolves.toBeUndefined();
    await expect(checkWebhookUrl('http://8.8.8.8/hook', false)).resolves.toBeUndefined();
  });
});
