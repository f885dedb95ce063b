import { createStore, del, entries, set, type UseStore } from 'idb-keyval';
import { ApiError } from './api.js';

/**
 * Crew actions wait on the phone (IndexedDB) until the network takes them
 * (issue #13). Each carries an idempotency key made when the crew pressed the
 * button, so a replay after a lost answer lands once. The server's state wins:
 * an action it refuses as stale (409, 403, 404) is dropped and the crew told.
 * A grid inspector's report and on-site verification (issue #16) wait the same
 * way, as one multipart request with their photos (`QueuedForm`).
 */
export interface QueuedAction {
  readonly kind?: undefined;
  readonly key: string;
  readonly caseId: number;
  readonly code: string;
  readonly action: string;
  readonly body: Record<string, unknown>;
  /** Photos not uploaded yet, and the ids of those that were (no second upload on replay). */
  photos: { name: string; blob: Blob }[];
  photoIds: number[];
  /** Names of photos the hub refused (not an image, too large); the report went without them. */
  refusedPhotos: string[];
  readonly queuedAt: number;
}

/** A multipart POST sent whole (fields and photos in one request): a report, a verification. */
export interface QueuedForm {
  readonly kind: 'form';
  readonly key: string;
  readonly url: string;
  /** What the phone shows while it waits (a category, a case code). */
  readonly code: string;
  readonly fields: Record<string, string>;
  readonly photos: readonly { name: string; blob: Blob }[];
  readonly queuedAt: number;
}

export type QueuedItem = QueuedAction | QueuedForm;

/** The storage the queue needs; IndexedDB in the browser, a Map in unit tests. */
export interface QueueStore {
  all(): Promise<QueuedItem[]>;
  put(a: QueuedItem): Promise<void>;
  remove(key: string): Promise<void>;
}

/** One IndexedDB database per phone app role (`hub-crew`, `hub-inspector`). */
export function idbStore(database = 'hub-crew'): QueueStore {
  const store: UseStore = createStore(database, 'queue');
  return {
    all: async () => (await entries<string, QueuedItem>(store)).map(([, v]) => v),
    put: (a) => set(a.key, a, store),
    remove: (key) => del(key, store),
  };
}

export function memoryStore(): QueueStore {
  const m = new Map<string, QueuedItem>();
  return {
    all: async () => [...m.values()].map((a) => ({ ...a })),
    put: async (a) => void m.set(a.key, { ...a }),
    remove: async (key) => void m.delete(key),
  };
}

export interface Sender {
  uploadPhoto(caseId: number, blob: Blob, name: string): Promise<{ id: number }>;
  act(
    caseId: number,
    action: string,
    body: Record<string, unknown>,
    idempotencyKey: string,
  ): Promise<unknown>;
  /** Sends a queued form; only a queue holding forms needs it. */
  form?(
    url: string,
    fields: Record<string, string>,
    photos: readonly { name: string; blob: Blob }[],
    idempotencyKey: string,
  ): Promise<unknown>;
}

export type Outcome<A extends QueuedItem = QueuedItem> =
  { kind: 'sent'; action: A; result: unknown } | { kind: 'conflict'; action: A; error: ApiError };

const isPhotoRefusal = (e: ApiError): boolean =>
  e.status === 400 || e.status === 413 || e.status === 415;

/** A network failure (offline, connection reset) rather than the hub's answer. */
export const isNetworkError = (err: unknown): boolean => !(err instanceof ApiError);

export function newKey(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export class OfflineQueue {
  private running: Promise<Outcome[]> | null = null;

  constructor(
    private readonly store: QueueStore,
    private readonly sender: Sender,
  ) {}

  pending(): Promise<QueuedItem[]> {
    return this.store.all().then((all) => all.sort((a, b) => a.queuedAt - b.queuedAt));
  }

  async enqueue(
    a: Omit<QueuedAction, 'key' | 'queuedAt' | 'photoIds' | 'refusedPhotos'> & { key?: string },
  ): Promise<QueuedAction> {
    const queued: QueuedAction = {
      ...a,
      key: a.key ?? newKey(),
      photoIds: [],
      refusedPhotos: [],
      queuedAt: Date.now(),
    };
    await this.store.put(queued);
    return queued;
  }

  async enqueueForm(
    f: Omit<QueuedForm, 'kind' | 'key' | 'queuedAt'> & { key?: string },
  ): Promise<QueuedForm> {
    const queued: QueuedForm = { ...f, kind: 'form', key: f.key ?? newKey(), queuedAt: Date.now() };
    await this.store.put(queued);
    return queued;
  }

  /**
   * Sends what waits, oldest first; stops at the first network failure and
   * keeps the rest. One replay at a time: a second call joins the first.
   */
  replay(): Promise<Outcome[]> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  private async run(): Promise<Outcome[]> {
    const out: Outcome[] = [];
    for (const a of await this.pending()) {
      try {
        if (a.kind === 'form') {
          if (!this.sender.form) throw new ApiError(0, 'HUB_ERR_CLIENT', 'no sender for forms');
          const result = await this.sender.form(a.url, a.fields, a.photos, a.key);
          await this.store.remove(a.key);
          out.push({ kind: 'sent', action: a, result });
          continue;
        }
        while (a.photos.length) {
          const p = a.photos[0]!;
          try {
            const { id } = await this.sender.uploadPhoto(a.caseId, p.blob, p.name);
            a.photoIds.push(id);
          } catch (err) {
            // A photo the hub refuses (not an image, too large) must not hold the report back.
            if (isNetworkError(err) || !isPhotoRefusal(err as ApiError)) throw err;
            a.refusedPhotos.push(p.name);
          }
          a.photos.shift();
          await this.store.put(a);
        }
        const body = a.photoIds.length ? { ...a.body, photoIds: a.photoIds } : a.body;
        const result = await this.sender.act(a.caseId, a.action, body, a.key);
        await this.store.remove(a.key);
        out.push({ kind: 'sent', action: a, result });
      } catch (err) {
        if (isNetworkError(err)) break;
        const e = err as ApiError;
        if (e.status >= 500 || e.status === 429) break;
        // The hub said no (the case moved on, or is no longer the crew's; a
        // photo it cannot take in a form): its state wins, the user is told.
        await this.store.remove(a.key);
        out.push({ kind: 'conflict', action: a, error: e });
      }
    }
    return out;
  }
}
