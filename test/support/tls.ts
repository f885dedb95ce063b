import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findTool } from './tools.js';

/**
 * A self-signed certificate for 127.0.0.1 made with Debian's openssl, or
 * null (the caller skips, and findTool has said why).
 */
export function selfSignedPair(): { certFile: string; keyFile: string; dir: string } | null {
  const openssl = findTool('openssl', 'apt-get install openssl');
  if (!openssl) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hub-test-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, dir };
}
