import { describe, expect, it } from 'vitest';
import { ApiError } from './api.js';
import {
  memoryStore,
  OfflineQueue,
  type QueuedAction,
  type QueuedItem,
  type Sender,
} from './offline-queue.js';

const caseAction = (a: QueuedItem | undefined): QueuedAction => {
  if (!a || a.kind === 'form') throw new Error('expected a case action');
  return a;
};

/** A hub that remembers idempotency keys, as the real one does for case actions. */
function fakeHub() {
  const seen = new Map<string, unknown>();
  const calls: string[] = [];
  let online = false;
  let photo = 0;
  const sender: Sender = {
    async uploadPhoto() {
      if (!online) throw new TypeError('Failed to fetch');
      calls.push('photo');
      return { id: ++photo };
    },
    async act(caseId, action, body, key) {
      if (!online) throw new TypeError('Failed to fetch');
      calls.push(`${action}:${key}`);
      if (action === 'stale') throw new ApiError(409, 'HUB_ERR_CASE_TRANSITION', 'not allowed');
      if (!seen.has(key)) seen.set(key, { caseId, action, body });
      return seen.get(key);
    },
  };
  return {
    sender,
    calls,
    seen,
    setOnline: (v: boolean) => (online = v),
    isOnline: () => online,
  };
}

describe('the crew’s offline queue', () => {
  it('keeps actions taken offline and sends each once, in order, when the network returns', async () => {
    const hub = fakeHub();
    const q = new OfflineQueue(memoryStore(), hub.sender);
    await q.enqueue({ caseId: 1, code: 'AJ-1', action: 'accept', body: {}, photos: [] });
    await q.enqueue({
      caseId: 1,
      code: 'AJ-1',
      action: 'handle',
      body: { note: '更换密封圈' },
      photos: [{ name: 'a.jpg', blob: new Blob(['x']) }],
    });
    expect(await q.replay()).toEqual([]);
    expect((await q.pending()).length).toBe(2);

    hub.setOnline(true);
    const outcomes = await q.replay();
    expect(outcomes.map((o) => o.kind)).toEqual(['sent', 'sent']);
    expect(hub.calls.map((c) => c.split(':')[0])).toEqual(['accept', 'photo', 'handle']);
    expect([...hub.seen.values()][1]).toEqual({
      caseId: 1,
      action: 'handle',
      body: { note: '更换密封圈', photoIds: [1] },
    });
    expect(await q.pending()).toEqual([]);
    expect(await q.replay()).toEqual([]);
  });

  it('drops an action the hub refuses as stale and reports it: the server’s state wins', async () => {
    const hub = fakeHub();
    hub.setOnline(true);
    const q = new OfflineQueue(memoryStore(), hub.sender);
    await q.enqueue({ caseId: 2, code: 'AJ-2', action: 'stale', body: {}, photos: [] });
    const [o] = await q.replay();
    expect(o!.kind).toBe('conflict');
    expect(await q.pending()).toEqual([]);
  });

  it('does not upload a photo twice when the network drops between the photo and the action', async () => {
    const hub = fakeHub();
    const q = new OfflineQueue(memoryStore(), {
      ...hub.sender,
      async act(...args) {
        hub.setOnline(false);
        return hub.sender.act(...args);
      },
    });
    hub.setOnline(true);
    await q.enqueue({
      caseId: 3,
      code: 'AJ-3',
      action: 'handle',
      body: { note: 'n' },
      photos: [{ name: 'a.jpg', blob: new Blob(['x']) }],
    });
    expect(await q.replay()).toEqual([]);
    const [held] = await q.pending();
    expect(caseAction(held).photoIds).toEqual([1]);
    expect(caseAction(held).photos).toEqual([]);
  });

  it('sends the report without a photo the hub refuses, and says which', async () => {
    const hub = fakeHub();
    hub.setOnline(true);
    const q = new OfflineQueue(memoryStore(), {
      ...hub.sender,
      async uploadPhoto() {
        throw new ApiError(400, 'HUB_ERR_BAD_REQUEST', 'not an image');
      },
    });
    await q.enqueue({
      caseId: 4,
      code: 'AJ-4',
      action: 'handle',
      body: { note: 'n' },
      photos: [{ name: 'notes.txt', blob: new Blob(['x']) }],
    });
    const [o] = await q.replay();
    expect(o!.kind).toBe('sent');
    expect(caseAction(o!.action).refusedPhotos).toEqual(['notes.txt']);
    expect([...hub.seen.values()][0]).toEqual({ caseId: 4, action: 'handle', body: { note: 'n' } });
  });

  it('keeps an inspector’s report made offline and sends it whole, with its photos and key, once online', async () => {
    const hub = fakeHub();
    const sent: { url: string; fields: Record<string, string>; photos: string[]; key: string }[] =
      [];
    const q = new OfflineQueue(memoryStore(), {
      ...hub.sender,
      async form(url, fields, photos, key) {
        if (!hub.isOnline()) throw new TypeError('Failed to fetch');
        sent.push({ url, fields, photos: photos.map((p) => p.name), key });
        return { id: 7 };
      },
    });
    const queued = await q.enqueueForm({
      url: '/api/field-reports',
      code: 'B0101',
      fields: { categoryCode: 'B0101', lat: '27.8', lon: '112.9' },
      photos: [{ name: 'cover.jpg', blob: new Blob(['x']) }],
    });
    expect(await q.replay()).toEqual([]);
    expect(await q.pending()).toHaveLength(1);
    hub.setOnline(true);
    const [o] = await q.replay();
    expect(o).toMatchObject({ kind: 'sent', result: { id: 7 } });
    expect(sent).toEqual([
      {
        url: '/api/field-reports',
        fields: { categoryCode: 'B0101', lat: '27.8', lon: '112.9' },
        photos: ['cover.jpg'],
        key: queued.key,
      },
    ]);
    expect(await q.pending()).toEqual([]);
  });

  it('drops a form the hub refuses and says why, keeping the next one', async () => {
    const q = new OfflineQueue(memoryStore(), {
      ...fakeHub().sender,
      async form(url) {
        if (url.includes('/9/')) throw new ApiError(403, 'HUB_ERR_VERIFY_NOT_YOURS', 'not yours');
        return { ok: true };
      },
    });
    await q.enqueueForm({ url: '/api/cases/9/verification', code: 'AJ-9', fields: {}, photos: [] });
    await q.enqueueForm({ url: '/api/field-reports', code: 'S0102', fields: {}, photos: [] });
    const outcomes = await q.replay();
    expect(outcomes.map((o) => o.kind)).toEqual(['conflict', 'sent']);
    expect(outcomes[0]).toMatchObject({ error: { code: 'HUB_ERR_VERIFY_NOT_YOURS' } });
  });
});
