import mqtt, { type MqttClient } from 'mqtt';
import { topicMatches } from './filters';
import { LiveConnection } from './live';
import type { Node, NodeAPI, NodeStatus } from './red';

/** The hub's REST answer to a failed request: its stable code (docs/errors.md) and status. */
export class HubRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'HubRequestError';
  }
}

export interface RequestOptions {
  readonly query?: Record<string, unknown>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
}

export type TelemetryHandler = (topic: string, payload: Buffer) => void;

/** What the config node gives the other nodes. */
export interface HubConfigNode extends Node {
  readonly hubUrl: string;
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T>;
  live(): LiveConnection;
  /** Subscribes over the MQTT service account; returns the unsubscribe. */
  watch(filters: string[], handler: TelemetryHandler, onState: (s: NodeStatus) => void): () => void;
}

interface HubConfigDef {
  id: string;
  type: string;
  name?: string;
  url?: string;
  mqttUrl?: string;
  mqttAccount?: string;
}

export const moduleName = 'node-red-contrib-urban-facility-hub';
/** Status texts shared by every node live in the config node's message catalog. */
export const statusKey = (key: string) => `${moduleName}/hub-config:status.${key}`;

export function statusFor(red: NodeAPI, state: string, detail?: string): NodeStatus {
  const text = red._(statusKey(state)) + (detail ? `: ${detail}` : '');
  switch (state) {
    case 'connected':
    case 'ok':
      return { fill: 'green', shape: 'dot', text };
    case 'refused':
      return { fill: 'red', shape: 'ring', text };
    case 'failed':
      return { fill: 'red', shape: 'dot', text };
    case 'waiting':
      return { fill: 'blue', shape: 'dot', text };
    default:
      return { fill: 'yellow', shape: 'ring', text };
  }
}

export function configOf(red: NodeAPI, node: Node, id: unknown): HubConfigNode | null {
  const config = typeof id === 'string' ? red.nodes.getNode(id) : null;
  if (!config) {
    node.status({ fill: 'red', shape: 'ring', text: red._(statusKey('noConfig')) });
    return null;
  }
  return config as HubConfigNode;
}

export default function register(RED: NodeAPI): void {
  RED.nodes.registerType(
    'hub-config',
    function (this: Node, def) {
      RED.nodes.createNode(this, def);
      const d = def as HubConfigDef;
      const node = this as HubConfigNode & { hubUrl: string };
      const base = String(d.url ?? '').replace(/\/+$/, '');
      node.hubUrl = base;
      const token = this.credentials.token ?? '';
      let live: LiveConnection | null = null;
      let client: MqttClient | null = null;
      const watchers = new Set<{
        filters: string[];
        handler: TelemetryHandler;
        onState: (s: NodeStatus) => void;
      }>();

      node.request = async <T>(method: string, path: string, options: RequestOptions = {}) => {
        const url = new URL(base + path);
        for (const [k, v] of Object.entries(options.query ?? {})) {
          if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
        }
        const hasBody = options.body !== undefined;
        const res = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(hasBody ? { 'content-type': 'application/json' } : {}),
            ...options.headers,
          },
          ...(hasBody ? { body: JSON.stringify(options.body) } : {}),
          signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
        });
        const text = await res.text();
        let json: unknown = null;
        try {
          json = text ? JSON.parse(text) : null;
        } catch {
          json = { message: text.slice(0, 200) };
        }
        if (!res.ok) {
          const e = (json ?? {}) as { code?: string; message?: string };
          throw new HubRequestError(
            `${method} ${path}: ${res.status} ${e.code ?? ''} ${e.message ?? ''}`.trim(),
            res.status,
            e.code ?? `HTTP_${res.status}`,
          );
        }
        return json as T;
      };

      node.live = () => (live ??= new LiveConnection(base, token));

      const tellWatchers = (s: NodeStatus) => {
        for (const w of watchers) w.onState(s);
      };
      const subscribed = () => new Set([...watchers].flatMap((w) => w.filters));
      const openMqtt = (): MqttClient => {
        const account = String(d.mqttAccount || 'node-red');
        const c = mqtt.connect(String(d.mqttUrl || 'mqtt://127.0.0.1:1883'), {
          // The hub's broker speaks MQTT 3.1.1 (docs/mqtt.md).
          protocolVersion: 4,
          username: `service:${account}`,
          password: this.credentials.mqttPassword ?? '',
          clientId: `nr-${account}-${node.id}-${Math.random().toString(16).slice(2, 8)}`,
          reconnectPeriod: 5000,
          connectTimeout: 10_000,
        });
        c.on('connect', () => {
          tellWatchers(statusFor(RED, 'connected'));
          const topics = [...subscribed()];
          if (topics.length > 0) c.subscribe(topics, { qos: 0 });
        });
        c.on('reconnect', () => tellWatchers(statusFor(RED, 'reconnecting')));
        c.on('error', (err: Error & { code?: number }) => {
          // CONNACK 4/5: wrong service password or no service accounts (MQTT_SERVICE_PASSWORD).
          if (err.code === 4 || err.code === 5)
            tellWatchers(statusFor(RED, 'refused', err.message));
          else tellWatchers(statusFor(RED, 'reconnecting', err.message));
        });
        c.on('message', (topic, payload) => {
          for (const w of watchers) {
            if (w.filters.some((f) => topicMatches(f, topic))) w.handler(topic, payload);
          }
        });
        return c;
      };

      node.watch = (filters, handler, onState) => {
        const w = { filters, handler, onState };
        watchers.add(w);
        if (!client) client = openMqtt();
        else if (client.connected) {
          onState(statusFor(RED, 'connected'));
          client.subscribe(filters, { qos: 0 });
        } else onState(statusFor(RED, 'connecting'));
        return () => {
          watchers.delete(w);
          const still = subscribed();
          const gone = filters.filter((f) => !still.has(f));
          if (gone.length > 0 && client?.connected) client.unsubscribe(gone);
        };
      };

      this.on('close', (_removed, done) => {
        live?.close();
        live = null;
        const c = client;
        client = null;
        if (c) c.end(true, {}, () => done());
        else done();
      });
    },
    { credentials: { token: { type: 'password' }, mqttPassword: { type: 'password' } } },
  );
}
