import { reactive } from 'vue';
import { api, type CaseDetail } from './api.js';
import { applyCase } from './hub.js';
import { idbStore, memoryStore, OfflineQueue, type Outcome } from './offline-queue.js';

/**
 * The crew's drafts and offline queue, outside any component: a live update
 * that re-renders a card, or the whole list, never loses what is typed or
 * chosen (issue #13; the old crew.js rebuilt every card on any change).
 */
export interface Draft {
  note: string;
  files: File[];
  withLocation: boolean;
}

export const drafts = reactive(new Map<number, Draft>());

export function draftOf(caseId: number): Draft {
  let d = drafts.get(caseId);
  if (!d) {
    drafts.set(caseId, { note: '', files: [], withLocation: false });
    d = drafts.get(caseId)!;
  }
  return d;
}

export const crewState = reactive({
  queued: 0,
  online: typeof navigator === 'undefined' ? true : navigator.onLine,
  conflicts: [] as { code: string; state: string; message: string }[],
  refusedPhotos: [] as { code: string; names: string[] }[],
  replayed: 0,
});

const queue = new OfflineQueue(typeof indexedDB === 'undefined' ? memoryStore() : idbStore(), {
  uploadPhoto: (caseId, blob, name) => api.uploadPhoto(caseId, blob, name),
  act: (caseId, action, body, key) => api.act(caseId, action, body, key),
});

async function count(): Promise<void> {
  crewState.queued = (await queue.pending()).length;
}

async function handleOutcomes(outcomes: Outcome[]): Promise<void> {
  for (const o of outcomes) {
    // The crew's queue holds case actions only; forms are the inspector's (inspector.ts).
    if (o.action.kind === 'form') continue;
    const action = o.action;
    if (o.kind === 'sent') {
      applyCase((o.result as { case: CaseDetail }).case);
      crewState.replayed++;
      drafts.delete(action.caseId);
      if (action.refusedPhotos.length)
        crewState.refusedPhotos.push({ code: action.code, names: action.refusedPhotos });
    } else {
      // The server's state wins: show it and say why the crew's action did not land.
      let state = '';
      try {
        const fresh = (await api.case(action.caseId)).case;
        applyCase(fresh);
        state = fresh.state;
      } catch {
        state = '?';
      }
      crewState.conflicts.push({ code: action.code, state, message: o.error.message });
    }
  }
  await count();
}

export async function replay(): Promise<void> {
  await handleOutcomes(await queue.replay());
}

/** Queues an action (with photos) and sends it at once when the network allows. */
export async function submit(
  c: CaseDetail,
  action: string,
  body: Record<string, unknown>,
  files: File[] = [],
): Promise<void> {
  await queue.enqueue({
    caseId: c.id,
    code: c.code,
    action,
    body,
    photos: files.map((f) => ({ name: f.name, blob: f })),
  });
  await count();
  if (navigator.onLine) await replay();
}

let started = false;
export function startCrew(): void {
  if (started) return;
  started = true;
  window.addEventListener('online', () => {
    crewState.online = true;
    void replay();
  });
  window.addEventListener('offline', () => (crewState.online = false));
  void count().then(() => (navigator.onLine ? replay() : undefined));
}
