import { describe, expect, it } from 'vitest';
import { ApiError } from './api.js';
import { memoryStore, OfflineQueue, type Sender } from './offline-queue.js';

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
  return { sender, calls, seen, setOnline: (v: boolean) => (online = v) };
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
    expect(held!.photoIds).toEqual([1]);
    expect(held!.photos).toEqual([]);
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
    expect(o!.action.refusedPhotos).toEqual(['notes.txt']);
    expect([...hub.seen.values()][0]).toEqual({ caseId: 4, action: 'handle', body: { note: 'n' } });
  });
});
