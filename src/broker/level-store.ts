import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { Level } from 'level';
import { msgpack, retainedStream, type RetainedPacket } from './retained-lookup.js';

const require = createRequire(import.meta.url);

/** The LevelDB key prefixes of aedes-persistence-level 9 (asyncPersistence.js). */
const retainedKey = 'retained:';
const sessionKeys = {
  subscriptions: 'subscriptions:',
  incoming: 'incoming:',
  outgoing: 'outgoing:',
  will: 'will:',
};

interface Client {
  readonly id: string;
}

/**
 * aedes-persistence-level reading retained messages by key, and by key range
 * under a wildcard. It also knows, in memory, which clients have session
 * state stored (subscriptions of a persistent session, inbound QoS 2 packets,
 * queued QoS 1/2 packets, a will) and which topics have a retained message:
 * Aedes asks LevelDB on every CONNECT and close of a clean session (clean its
 * subscriptions, its inbound packets, its will; open its queue) and on every
 * SUBSCRIBE (the retained message),
 * and for a reconnecting fleet the answer is almost always "none". Those
 * reads took a fifth of the gateway's thread and LevelDB's own in a
 * reconnect storm (#17); the indexes are read from the keys once at setup
 * and kept by the same calls that write the keys.
 */
export function levelPersistence(dir: string, onError: (err: unknown) => void): unknown {
  const LevelPersistence = require('aedes-persistence-level/asyncPersistence.js') as new (
    db: unknown,
  ) => LevelStore;
  interface LevelStore {
    setup(broker: unknown): Promise<void>;
    storeRetained(packet: RetainedPacket): Promise<void>;
    addSubscriptions(client: Client, subs: readonly { topic: string }[]): Promise<void>;
    removeSubscriptions(client: Client, topics: readonly string[]): Promise<void>;
    subscriptionsByClient(client: Client): Promise<unknown[]>;
    incomingStorePacket(client: Client, packet: { messageId: number }): Promise<void>;
    incomingDelPacket(client: Client, packet: { messageId: number }): Promise<void>;
    cleanIncoming(client: Client): Promise<void>;
    putWill(client: Client, packet: object): Promise<void>;
    getWill(client: Client): Promise<unknown>;
    delWill(client: Client): Promise<unknown>;
    outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket): Promise<void>;
    outgoingClearMessageId(client: Client, packet: object): Promise<QueuedPacket | undefined>;
    outgoingStream(client: Client): Readable;
  }
  // Sessions and queued messages are raw telemetry: private to the hub user (issue 11).
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' });
  /** The keys under `prefix` (which ends with ':', so `;` bounds the range). */
  const keysUnder = (prefix: string) => db.keys({ gte: prefix, lt: `${prefix.slice(0, -1)};` });
  /** The client part of a session key: ids are stored URI-encoded, so ':' ends them. */
  const clientOf = (key: string, prefix: string) => key.slice(prefix.length).split(':', 1)[0]!;
  const idOf = (client: Client) => encodeURIComponent(client.id);
  const add = (index: Map<string, Set<string>>, id: string, member: string) => {
    const set = index.get(id);
    if (set) set.add(member);
    else index.set(id, new Set([member]));
  };
  const remove = (index: Map<string, Set<string>>, id: string, member: string) => {
    const set = index.get(id);
    if (set?.delete(member) && set.size === 0) index.delete(id);
  };
  class IndexedLevelPersistence extends LevelPersistence {
    readonly #retained = new Set<string>();
    readonly #subscriptions = new Map<string, Set<string>>();
    readonly #incoming = new Map<string, Set<string>>();
    readonly #wills = new Set<string>();
    readonly #outgoing = new Map<string, Set<string>>();

    override async setup(broker: unknown): Promise<void> {
      await super.setup(broker);
      for await (const key of keysUnder(retainedKey))
        this.#retained.add(key.slice(retainedKey.length));
      for await (const key of keysUnder(sessionKeys.subscriptions)) {
        const id = clientOf(key, sessionKeys.subscriptions);
        add(this.#subscriptions, id, key.slice(sessionKeys.subscriptions.length + id.length + 1));
      }
      for await (const key of keysUnder(sessionKeys.incoming)) {
        const id = clientOf(key, sessionKeys.incoming);
        add(this.#incoming, id, key.slice(sessionKeys.incoming.length + id.length + 1));
      }
      for await (const key of keysUnder(sessionKeys.outgoing)) {
        const id = clientOf(key, sessionKeys.outgoing);
        add(this.#outgoing, id, key.slice(sessionKeys.outgoing.length + id.length + 1));
      }
      for await (const key of keysUnder(sessionKeys.will))
        this.#wills.add(key.slice(sessionKeys.will.length));
    }

    override storeRetained(packet: RetainedPacket): Promise<void> {
      if (packet.payload.length === 0) this.#retained.delete(packet.topic);
      else this.#retained.add(packet.topic);
      return super.storeRetained(packet);
    }
    override addSubscriptions(client: Client, subs: readonly { topic: string }[]) {
      for (const sub of subs) add(this.#subscriptions, idOf(client), sub.topic);
      return super.addSubscriptions(client, subs);
    }
    // Entries go before their keys do: the index may name a client with nothing stored
    // (one needless read), never miss one that has something.
    override removeSubscriptions(client: Client, topics: readonly string[]) {
      for (const topic of topics) remove(this.#subscriptions, idOf(client), topic);
      return super.removeSubscriptions(client, topics);
    }
    override subscriptionsByClient(client: Client) {
      if (!this.#subscriptions.has(idOf(client))) return Promise.resolve([]);
      return super.subscriptionsByClient(client);
    }
    override incomingStorePacket(client: Client, packet: { messageId: number }) {
      add(this.#incoming, idOf(client), padId(packet.messageId));
      return super.incomingStorePacket(client, packet);
    }
    override incomingDelPacket(client: Client, packet: { messageId: number }) {
      remove(this.#incoming, idOf(client), padId(packet.messageId));
      return super.incomingDelPacket(client, packet);
    }
    override cleanIncoming(client: Client): Promise<void> {
      const id = idOf(client);
      if (!this.#incoming.delete(id)) return Promise.resolve();
      return super.cleanIncoming(client);
    }
    // The QoS 1/2 queue of a persistent session: an entry per queued packet, dropped once
    // its key is gone (a packet's broker counter is never queued again).
    override outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket) {
      add(this.#outgoing, encodeURIComponent(sub.clientId), queuedKey(packet));
      return super.outgoingEnqueue(sub, packet);
    }
    override async outgoingClearMessageId(client: Client, packet: object) {
      const cleared = await super.outgoingClearMessageId(client, packet);
      if (cleared) remove(this.#outgoing, idOf(client), queuedKey(cleared));
      return cleared;
    }
    override outgoingStream(client: Client): Readable {
      return this.#outgoing.has(idOf(client)) ? super.outgoingStream(client) : Readable.from([]);
    }
    override putWill(client: Client, packet: object) {
      this.#wills.add(idOf(client));
      return super.putWill(client, packet);
    }
    override getWill(client: Client) {
      return this.#wills.has(idOf(client)) ? super.getWill(client) : Promise.resolve(undefined);
    }
    override delWill(client: Client) {
      return this.#wills.delete(idOf(client)) ? super.delWill(client) : Promise.resolve(undefined);
    }

    createRetainedStreamCombi(filters: string[]) {
      const retained = this.#retained;
      return retainedStream(
        filters,
        async (topic) => {
          if (!retained.has(topic)) return undefined;
          const blob = await db.get(retainedKey + topic);
          return blob === undefined ? undefined : msgpack.decode(blob);
        },
        async function* (prefix) {
          // Keys sort bytewise, so the keys starting with the prefix are one run from `gte`.
          const start = retainedKey + prefix;
          for await (const [key, blob] of db.iterator({ gte: start })) {
            if (!key.startsWith(start)) break;
            // Only a matching message is decoded.
            yield [key.slice(retainedKey.length), () => msgpack.decode(blob)] as [
              string,
              () => RetainedPacket,
            ];
          }
        },
        onError,
      );
    }
    createRetainedStream(filter: string) {
      return this.createRetainedStreamCombi([filter]);
    }
  }
  return new IndexedLevelPersistence(db);
}

/** The store's message-id padding (16 digits), so an index entry names its key. */
const padId = (id: number) => String(id).padStart(16, '0');
interface QueuedPacket {
  readonly brokerId: string;
  readonly brokerCounter: number;
}
const queuedKey = (p: QueuedPacket) => `${p.brokerId}:${padId(p.brokerCounter)}`;
