import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseDetail } from '../../src/domain/index.js';
import {
  authed,
  connectOperator,
  startOtherNode,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';
import { machineRedisUrl, redisReachable, redisTestPrefix } from '../support/redis.js';

const reachable = await redisReachable();

/**
 * Cases across processes (#6, decision 0110): a control room connected to
 * node B sees the case changes made through node A and through B itself, in
 * version order with none missing, and resumes on B after what it missed. The
 * feed poll is ten minutes long, so only NOTIFY can wake node B.
 */
describe.skipIf(!reachable)('case changes across two hub nodes', () => {
  const { prefix, cleanUp } = redisTestPrefix();
  const env = {
    REDIS_URL: machineRedisUrl,
    REDIS_KEY_PREFIX: prefix,
    CASE_FEED_POLL_MS: '600000',
    CASE_TICK_INTERVAL_MS: '3600000',
  };
  let a: TestHub;
  let b: Awaited<ReturnType<typeof startOtherNode>>;

  beforeAll(async () => {
    a = await startTestHub(env);
    b = await startOtherNode(a, env);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await cleanUp();
  });

  const register = (httpUrl: string, i: number) =>
    authed(a.adminToken)(`${httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({
        source: 'hotline',
        severity: 'minor',
        title: `cluster ${i}`,
        facilityType: 'streetlight',
        gridCode: a.devices.streetlight.gridCode,
      }),
    }).then(async (r) => {
      expect(r.status).toBe(201);
      return (await r.json()) as CaseDetail;
    });
  const versionsAfter = async (v: number) =>
    (
      await a.hub.db.pool.query<{ version: number }>(
        `SELECT version FROM case_events WHERE version > $1 ORDER BY version`,
        [v],
      )
    ).rows.map((r) => r.version);

  it('shows a socket on node B every change made on either node, in version order', async () => {
    const onB = connectOperator(b.httpUrl, a.adminToken);
    const onA = connectOperator(a.httpUrl, a.adminToken);
    const [snapshot, snapshotA] = await Promise.all(
      [onB, onA].map((s) => new Promise<{ version: number }>((r) => s.once('cases:snapshot', r))),
    );
    expect(snapshotA!.version).toBe(snapshot!.version);
    const seenB: number[] = [];
    const seenA: number[] = [];
    onB.on('case:changed', (c) => seenB.push(c.case.version));
    onA.on('case:changed', (c) => seenA.push(c.case.version));

    // Concurrent registrations through both nodes: each takes versions under the advisory lock.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => register(i % 2 === 0 ? a.httpUrl : b.httpUrl, i)),
    );
    const expected = await versionsAfter(snapshot!.version);
    expect(expected.length).toBeGreaterThanOrEqual(20);
    await waitFor(() => (seenB.length >= expected.length ? true : undefined), 'node B sockets');
    await waitFor(() => (seenA.length >= expected.length ? true : undefined), 'node A sockets');
    expect(seenB).toEqual(expected); // in order, none missing, none twice
    expect(seenA).toEqual(expected);
    onB.close();
    onA.close();
  });

  it('resumes on node B after the changes made on node A while the socket was away', async () => {
    const first = connectOperator(b.httpUrl, a.adminToken);
    const snapshot = await new Promise<{ version: number }>((r) => first.once('cases:snapshot', r));
    first.close();
    await Promise.all(Array.from({ length: 5 }, (_, i) => register(a.httpUrl, 100 + i)));
    const missed = await versionsAfter(snapshot.version);
    expect(missed.length).toBeGreaterThanOrEqual(5);

    const again = connectOperator(b.httpUrl, a.adminToken, { sinceVersion: snapshot.version });
    let gotSnapshot = false;
    again.on('cases:snapshot', () => (gotSnapshot = true));
    const replayed: number[] = [];
    again.on('case:changed', (c) => replayed.push(c.case.version));
    // And a change made on A after the resume arrives live, after the replay.
    await waitFor(() => (replayed.length >= missed.length ? true : undefined), 'the replay');
    const live = await register(a.httpUrl, 200);
    const all = await versionsAfter(snapshot.version);
    await waitFor(() => (replayed.length >= all.length ? true : undefined), 'the live change');
    expect(replayed).toEqual(all);
    expect(replayed.at(-1)).toBeGreaterThanOrEqual(live.version);
    expect(gotSnapshot).toBe(false);
    again.close();
  });

  it('lets two nodes extend one case at once without one extension overwriting the other', async () => {
    const c = await register(a.httpUrl, 99);
    const extend = (httpUrl: string) =>
      authed(a.adminToken)(`${httpUrl}/api/cases/${c.id}/actions/extend`, {
        method: 'POST',
        body: JSON.stringify({ hours: 24, note: '需停电作业' }),
      });
    const results = await Promise.all([extend(a.httpUrl), extend(b.httpUrl)]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const after = (
      (await (await authed(a.adminToken)(`${a.httpUrl}/api/cases/${c.id}`)).json()) as {
        case: CaseDetail;
      }
    ).case;
    expect(after.extensionCount).toBe(2);
    expect(Date.parse(after.dueAt!) - Date.parse(c.dueAt!)).toBe(48 * 3600_000);
  });
});
