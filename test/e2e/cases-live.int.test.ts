import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseDetail } from '../../src/domain/index.js';
import {
  authed,
  connectOperator,
  login,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

interface Seen {
  version: number;
  caseId: number;
  crewId: string | null;
}

/**
 * socket.io for the cases workflow (issue #5): the handshake needs a session,
 * a crew sees only its crew's cases, and a client that reconnects with the
 * last version it saw receives exactly what it missed during a burst.
 */
describe('live case events over socket.io', () => {
  let t: TestHub;
  let crewToken = '';
  let crewId = '';

  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
    crewId = `lighting-${t.devices.streetlight.gridCode.slice(0, 6)}`;
    const res = await authed(t.adminToken)(`${t.httpUrl}/api/users`, {
      method: 'POST',
      body: JSON.stringify({
        username: 'crew-a',
        role: 'crew',
        crewId,
        password: 'crew-a-password',
      }),
    });
    expect(res.status).toBe(201);
    crewToken = await login(t.httpUrl, 'crew-a', 'crew-a-password');
  });
  afterAll(async () => {
    await t?.stop();
  });

  const register = (i: number) =>
    authed(t.adminToken)(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({
        source: 'hotline',
        severity: 'minor',
        title: `burst ${i}`,
        facilityType: i % 2 === 0 ? 'streetlight' : 'gas',
        gridCode: i % 2 === 0 ? t.devices.streetlight.gridCode : t.devices.gas.gridCode,
      }),
    }).then(async (r) => {
      expect(r.status).toBe(201);
      return (await r.json()) as CaseDetail;
    });

  it('refuses a handshake without a session', async () => {
    const socket = io(t.httpUrl, { transports: ['websocket'], reconnection: false });
    const err = await new Promise<Error & { data?: { code?: string } }>((resolve) =>
      socket.once('connect_error', resolve),
    );
    expect(err.data?.code).toBe('HUB_ERR_UNAUTHENTICATED');
    socket.close();
  });

  it('resumes after the last version seen with no gap and no duplicate under a burst of updates', async () => {
    const first = connectOperator(t.httpUrl, t.adminToken);
    const snapshot = await new Promise<{ version: number }>((r) => first.once('cases:snapshot', r));
    const seen: Seen[] = [];
    const crewSeen: Seen[] = [];
    first.on('case:changed', (c) =>
      seen.push({ version: c.case.version, caseId: c.case.id, crewId: null }),
    );
    const crew = connectOperator(t.httpUrl, crewToken);
    await new Promise((r) => crew.once('cases:snapshot', r));
    crew.on('case:changed', (c) =>
      crewSeen.push({
        version: c.case.version,
        caseId: c.case.id,
        crewId: (c.case as CaseDetail).crewId,
      }),
    );

    // 30 cases, each registered and dispatched: 60 versioned changes, concurrently; the
    // first client drops during the first half and resumes while the second half runs.
    const firstHalf = Promise.all(Array.from({ length: 16 }, (_, i) => register(i)));
    await waitFor(() => (seen.length >= 8 ? true : undefined), 'the first changes');
    first.close();
    const last = Math.max(...seen.map((s) => s.version));
    const firstCount = seen.length;
    const secondHalf = Promise.all(Array.from({ length: 14 }, (_, i) => register(16 + i)));

    const second = connectOperator(t.httpUrl, t.adminToken, { sinceVersion: last });
    let gotSnapshot = false;
    second.on('cases:snapshot', () => (gotSnapshot = true));
    second.on('case:changed', (c) =>
      seen.push({ version: c.case.version, caseId: c.case.id, crewId: null }),
    );
    const created = [...(await firstHalf), ...(await secondHalf)];

    const { rows } = await t.hub.db.pool.query<{ version: number; crew_id: string | null }>(
      `SELECT version, crew_id FROM case_events WHERE version > $1 ORDER BY version`,
      [snapshot.version],
    );
    expect(rows).toHaveLength(60);
    const expected = rows.map((r) => r.version);
    await waitFor(
      () => (seen.length >= expected.length ? true : undefined),
      'every change on the resumed connection',
    );
    const versions = seen.map((s) => s.version);
    expect(versions).toEqual(expected); // in order, none missing, none twice
    expect(seen.length).toBeGreaterThan(firstCount);
    expect(gotSnapshot).toBe(false);

    // The crew saw the changes of its own crew's cases only: their dispatch, not the gas ones.
    const mine = rows.filter((r) => r.crew_id === crewId).map((r) => r.version);
    expect(mine).toHaveLength(15);
    await waitFor(() => (crewSeen.length >= mine.length ? true : undefined), 'the crew changes');
    expect(crewSeen.map((s) => s.version)).toEqual(mine);
    expect(new Set(crewSeen.map((s) => s.crewId))).toEqual(new Set([crewId]));
    const crewCaseIds = new Set(created.filter((c) => c.crewId === crewId).map((c) => c.id));
    expect(crewSeen.every((s) => crewCaseIds.has(s.caseId))).toBe(true);

    // A crew that reconnects replays only its own crew's missed changes.
    const crewAgain = connectOperator(t.httpUrl, crewToken, { sinceVersion: snapshot.version });
    const replayed: number[] = [];
    crewAgain.on('case:changed', (c) => replayed.push(c.case.version));
    await waitFor(() => (replayed.length >= mine.length ? true : undefined), 'the crew replay');
    expect(replayed).toEqual(mine);

    second.close();
    crew.close();
    crewAgain.close();
  });
});
