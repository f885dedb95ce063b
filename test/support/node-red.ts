import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startNodeRed, type RunningNodeRed } from '../../scripts/node-red.js';

/**
 * A Node-RED runtime as `npm run node-red` starts it, in a temporary userDir,
 * logged in to its admin API: `admin` calls it with the login's token.
 */
export async function startTestNodeRed(): Promise<{
  nr: RunningNodeRed;
  admin: (p: string, init?: RequestInit) => Promise<Response>;
  stop(): Promise<void>;
}> {
  const userDir = await mkdtemp(path.join(os.tmpdir(), 'node-red-test-'));
  const nr = await startNodeRed({
    userDir,
    passwordFile: path.join(userDir, 'admin-password'),
    port: 0,
    logLevel: process.env.TEST_LOG_LEVEL ? 'info' : 'fatal',
  });
  const password = (await readFile(path.join(userDir, 'admin-password'), 'utf8')).trim();
  const login = await fetch(`${nr.url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: 'node-red-admin',
      grant_type: 'password',
      scope: '*',
      username: 'admin',
      password,
    }),
  });
  if (login.status !== 200) throw new Error(`Node-RED login: ${login.status}`);
  const token = ((await login.json()) as { access_token: string }).access_token;
  return {
    nr,
    admin: (p, init = {}) =>
      fetch(`${nr.url}${p}`, {
        ...init,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(init.headers as Record<string, string> | undefined),
        },
      }),
    async stop() {
      await nr.stop();
      await rm(userDir, { recursive: true, force: true });
    },
  };
}

/** Where the flows' `http request` nodes deliver what the hub's nodes sent. */
export async function startCollector() {
  const received = new Map<string, unknown[]>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const list = received.get(req.url ?? '') ?? [];
      list.push(text ? JSON.parse(text) : null);
      received.set(req.url ?? '', list);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    of: <T>(p: string) => (received.get(p) ?? []) as T[],
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A TCP hop between Node-RED and the hub whose connections the test can cut mid-stream. */
export async function startProxy(port: number) {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Cuts every connection through the proxy, as a network failure would. */
    cut: () => {
      for (const s of open) s.destroy();
    },
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface RobotCall {
  readonly path: string;
  /** The query string as sent (the signature's URL encoding is part of the contract). */
  readonly rawQuery: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  readonly body: { msgtype: string; markdown: { title?: string; text?: string; content?: string } };
}

/** Stands in for DingTalk's and WeCom's group robots: records each call, answers as they do. */
export async function startRobots() {
  const calls: RobotCall[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://robot');
      const text = Buffer.concat(chunks).toString('utf8');
      calls.push({
        path: url.pathname,
        rawQuery: url.search.slice(1),
        query: url.searchParams,
        contentType: req.headers['content-type'],
        body: text ? (JSON.parse(text) as RobotCall['body']) : (null as never),
      });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ errcode: 0, errmsg: 'ok' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    to: (p: string) => calls.filter((c) => c.path === p),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
