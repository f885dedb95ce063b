import { io, type Socket } from 'socket.io-client';

/** What a live node shows: green dot, yellow ring, red ring. */
export type LiveState = 'connecting' | 'connected' | 'reconnecting' | 'refused';

/**
 * One versioned feed of the hub's socket.io (docs/api.md, "socket.io"): a
 * snapshot on a fresh connection, then changes with a version that grows
 * across all items; a reconnect that names the last version in its handshake
 * gets exactly the changes after it.
 */
export interface FeedSpec {
  readonly name: 'cases' | 'alarms';
  readonly snapshotEvent: string;
  readonly changeEvent: string;
  /** Handshake `auth` key that carries the last version seen. */
  readonly sinceKey: string;
  /** Items of a snapshot. */
  items(snapshot: Record<string, unknown>): Record<string, unknown>[];
  /** The item a change carries. */
  item(change: Record<string, unknown>): Record<string, unknown>;
  version(change: Record<string, unknown>): number;
}

export const caseFeed: FeedSpec = {
  name: 'cases',
  snapshotEvent: 'cases:snapshot',
  changeEvent: 'case:changed',
  sinceKey: 'sinceVersion',
  items: (s) => (s.cases as Record<string, unknown>[]) ?? [],
  item: (c) => c.case as Record<string, unknown>,
  version: (c) => Number((c.case as { version?: unknown } | undefined)?.version),
};

export const alarmFeed: FeedSpec = {
  name: 'alarms',
  snapshotEvent: 'alarms:snapshot',
  changeEvent: 'alarm:changed',
  sinceKey: 'alarmsSinceVersion',
  items: (s) => (s.alarms as Record<string, unknown>[]) ?? [],
  item: (c) => c.alarm as Record<string, unknown>,
  version: (c) => Number(c.version ?? (c.alarm as { version?: unknown } | undefined)?.version),
};

export interface LiveListener {
  readonly feed: FeedSpec['name'];
  onSnapshot(items: Record<string, unknown>[], version: number): void;
  onChange(change: Record<string, unknown>, item: Record<string, unknown>, version: number): void;
  onState(state: LiveState, detail?: string): void;
}

/** Reasons of `session:ended` after which retrying with the same token is useless. */
const finalEnds = new Set(['revoked', 'disabled', 'expired', 'password_changed', 'password_reset']);

/**
 * One socket.io connection per hub config node, shared by its live nodes. It
 * keeps the last version of each feed it delivered; every (re)connect sends
 * them in the handshake, so the hub replays what was missed, and a change at
 * or below the last version (the overlap between a snapshot and the live
 * stream) is dropped: no event lost, none twice.
 */
export class LiveConnection {
  private socket: Socket | null = null;
  private readonly versions = new Map<string, number>();
  private readonly listeners = new Set<LiveListener>();
  private state: LiveState = 'connecting';
  private detail: string | undefined;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly feeds: readonly FeedSpec[] = [caseFeed, alarmFeed],
  ) {}

  /** The last version delivered of a feed (tests, and the node's status). */
  lastVersion(feed: FeedSpec['name']): number | undefined {
    return this.versions.get(feed);
  }

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    listener.onState(this.state, this.detail);
    if (!this.socket) this.open();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.close();
    };
  }

  close(): void {
    const s = this.socket;
    this.socket = null;
    s?.removeAllListeners();
    s?.io.removeAllListeners();
    s?.disconnect();
  }

  private setState(state: LiveState, detail?: string): void {
    this.state = state;
    this.detail = detail;
    for (const l of this.listeners) l.onState(state, detail);
  }

  private open(): void {
    if (!this.token) {
      this.setState('refused', 'no token');
      return;
    }
    const socket = io(this.url, {
      transports: ['websocket'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
      // A function: each reconnect sends the versions delivered by then.
      auth: (cb) => {
        const auth: Record<string, unknown> = { token: this.token };
        for (const f of this.feeds) {
          const v = this.versions.get(f.name);
          if (v !== undefined) auth[f.sinceKey] = v;
        }
        cb(auth);
      },
    });
    this.socket = socket;
    socket.on('connect', () => this.setState('connected'));
    socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (err.data?.code === 'HUB_ERR_UNAUTHENTICATED') {
        // socket.io does not retry a refusal by the server's middleware; nor should we.
        this.setState('refused', err.data.code);
      } else {
        this.setState('reconnecting', err.message);
      }
    });
    socket.on('disconnect', (reason) => {
      if (this.state === 'refused') return;
      this.setState('reconnecting', reason);
      // The hub closed it (shutting down, or a session notice): socket.io does not retry that itself.
      if (reason === 'io server disconnect') setTimeout(() => this.socket?.connect(), 1000);
    });
    socket.on('session:ended', ({ reason }: { reason: string }) => {
      if (finalEnds.has(reason)) {
        this.setState('refused', `session ended: ${reason}`);
      } else {
        // user_changed: the scope changed, versions of the old scope mean nothing now.
        this.versions.clear();
      }
    });
    for (const feed of this.feeds) {
      socket.on(feed.snapshotEvent, (snapshot: Record<string, unknown>) => {
        const version = Number(snapshot.version);
        this.versions.set(feed.name, version);
        const items = feed.items(snapshot);
        for (const l of this.listeners) if (l.feed === feed.name) l.onSnapshot(items, version);
      });
      socket.on(feed.changeEvent, (change: Record<string, unknown>) => {
        const version = feed.version(change);
        const last = this.versions.get(feed.name);
        if (!Number.isFinite(version) || (last !== undefined && version <= last)) return;
        this.versions.set(feed.name, version);
        const item = feed.item(change);
        for (const l of this.listeners) if (l.feed === feed.name) l.onChange(change, item, version);
      });
    }
  }
}
