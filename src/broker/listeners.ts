import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { HubError } from '../domain/index.js';

export type Protocol = 'mqtt' | 'mqtts' | 'ws';

export interface ListenerOptions {
  readonly host: string;
  /** null: TCP listener off. 0: a free port. */
  readonly tcpPort: number | null;
  /** TLS listener when set. */
  readonly tls?: { readonly port: number; readonly certFile: string; readonly keyFile: string };
  /** WebSocket listener when set. */
  readonly wsPort?: number;
}

export interface Listeners {
  readonly ports: { mqtt: number | null; mqtts: number | null; ws: number | null };
  close(): Promise<void>;
}

/** What every connection brings to the broker: the stream and how it came in. */
export type Handle = (
  stream: Duplex,
  protocol: Protocol,
  address: string,
  socket: net.Socket,
) => void;

function listen(
  server: net.Server,
  port: number,
  host: string,
  variable: string,
  what: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new HubError(
              'HUB_ERR_PORT_IN_USE',
              `${what} ${host}:${port} is taken; set ${variable} to a free port`,
            )
          : err,
      ),
    );
    server.listen({ port, host, backlog: listenBacklog }, () =>
      resolve((server.address() as net.AddressInfo).port),
    );
  });
}

/**
 * Connections the kernel queues before the broker accepts them (it caps this
 * at `net.core.somaxconn`, 4096 on current Linux). With Node's default of 511
 * a reconnect storm overflowed the queue, the kernel dropped the devices'
 * SYNs and they retried after 1, 3, 7, 15… s: 19,000 devices took 112 s to
 * connect instead of 30 (#17, docs/benchmarks.md).
 */
export const listenBacklog = 4096;

const closeServer = (server: net.Server) =>
  new Promise<void>((resolve) => server.close(() => resolve()));

/**
 * MQTT over TCP, TLS and WebSocket, each on or off (#6). All three feed the
 * same Aedes instance; loopback unless MQTT_HOST says otherwise.
 */
export async function startListeners(options: ListenerOptions, handle: Handle): Promise<Listeners> {
  const servers: net.Server[] = [];
  const closers: (() => Promise<void>)[] = [];
  const ports: Listeners['ports'] = { mqtt: null, mqtts: null, ws: null };
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    if (options.tcpPort !== null) {
      const server = net.createServer((socket) =>
        handle(socket, 'mqtt', socket.remoteAddress ?? '', socket),
      );
      servers.push(server);
      closers.push(() => closeServer(server));
      ports.mqtt = await listen(server, options.tcpPort, options.host, 'MQTT_PORT', 'MQTT');
    }
    if (options.tls) {
      const { certFile, keyFile } = options.tls;
      let cert: Buffer;
      let key: Buffer;
      try {
        cert = readFileSync(certFile);
        key = readFileSync(keyFile);
      } catch (err) {
        throw new HubError(
          'HUB_ERR_CONFIG',
          `MQTT_TLS_CERT_FILE / MQTT_TLS_KEY_FILE cannot be read: ${(err as Error).message}`,
        );
      }
      const server = tls.createServer({ cert, key }, (socket) =>
        handle(socket, 'mqtts', socket.remoteAddress ?? '', socket),
      );
      servers.push(server);
      closers.push(() => closeServer(server));
      ports.mqtts = await listen(server, options.tls.port, options.host, 'MQTT_TLS_PORT', 'MQTTS');
    }
    if (options.wsPort !== undefined) {
      const server = http.createServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
      });
      // 'mqtt' is the subprotocol MQTT over WebSocket uses [MQTT-6.0.0-3].
      const wss = new WebSocketServer({
        server,
        handleProtocols: (protocols) =>
          protocols.has('mqtt') ? 'mqtt' : (protocols.values().next().value ?? false),
      });
      wss.on('connection', (ws, req: IncomingMessage) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => ws.terminate());
        handle(stream, 'ws', req.socket.remoteAddress ?? '', req.socket);
      });
      servers.push(server);
      closers.push(async () => {
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await closeServer(server);
      });
      ports.ws = await listen(server, options.wsPort, options.host, 'MQTT_WS_PORT', 'MQTT over WS');
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { ports, close };
}
