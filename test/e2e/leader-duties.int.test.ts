import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtherNode, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { machineRedisUrl, redisReachable, redisTestPrefix } from '../support/redis.js';

const reachable = await redisReachable();
const day = 86_400_000;

interface Health {
  node: { id: string; role: string; leader: boolean; clustered: boolean };
}
const healthOf = async (httpUrl: string) =>
  (await (await fetch(`${httpUrl}/api/health`)).json()) as Health;

/**
 * Exactly-one-node duties (#6, decision 0110): two hub nodes on one database
 * and the machine's Redis. The fleet-wide offline rule runs on the leader
 * only, so each alarm is raised once; when the leader stops, the other node
 * takes over and clears the alarms the first one raised.
 */
describe.skipIf(!reachable)('leader duties across two hub nodes', () => {
  const { prefix, cleanUp } = redisTestPrefix();
  const env = { REDIS_URL: machineRedisUrl, REDIS_KEY_PREFIX: prefix };
  // One clock for both nodes' rules: moved forward, every device has been silent for days.
  let offsetMs = 0;
  const hubOptions = {
    rulesNow: () => Date.now() + offsetMs,
    rulesTickMs: 100,
    leaderRetryMs: 100,
  };
  let a: TestHub;
  let b: Awaited<ReturnType<typeof startOtherNode>>;
  let aStopped = false;

  beforeAll(async () => {
    a = await startTestHub(env, 'primary', hubOptions);
    b = await startOtherNode(a, env, hubOptions);
  });
  afterAll(async () => {
    await b?.stop();
    if (!aStopped) await a?.stop();
    else await a?.database.drop();
    await cleanUp();
  });

  const offlineAlarms = async () =>
    (
      await a.hub.db.pool.query<{ source: string; state: string }>(
        `SELECT source, state FROM alarms WHERE rule_id = 'all.offline' ORDER BY id`,
      )
    ).rows;

  it('shows each node its role and whether it leads', async () => {
    const [ha, hb] = [await healthOf(a.httpUrl), await healthOf(b.httpUrl)];
    expect(ha.node).toMatchObject({ role: 'all', leader: true, clustered: true });
    expect(hb.node).toMatchObject({ role: 'all', leader: false, clustered: true });
    expect(ha.node.id).not.toBe(hb.node.id);
  });

  it('raises the fleet-wide offline alarms on the leader only, once each', async () => {
    offsetMs = 3 * day;
    // The rule waits for correlation before it raises: let the clock run on.
    await waitFor(
      async () => {
        offsetMs += 600_000;
        return (await offlineAlarms()).length > 0 ? true : undefined;
      },
      'offline alarms raised by the leader',
      30_000,
    );
    await a.hub.alarms.settled();
    await b.hub.alarms.settled();
    expect(b.hub.alarms.counters.opened).toBe(0);
    const twice = await a.hub.db.pool.query(
      `SELECT source, rule_id FROM alarms GROUP BY source, rule_id HAVING count(*) > 1`,
    );
    expect(twice.rows).toEqual([]);
    const cases = await a.hub.db.pool.query(
      `SELECT alarm_id FROM cases WHERE alarm_id IS NOT NULL GROUP BY alarm_id HAVING count(*) > 1`,
    );
    expect(cases.rows).toEqual([]);
  });

  it('hands the duties to the other node when the leader stops, which clears what it raised', async () => {
    const raised = (await offlineAlarms()).filter((r) => r.state === 'open');
    expect(raised.length).toBeGreaterThan(0);
    await a.hub.stop();
    aStopped = true;
    await waitFor(
      async () => ((await healthOf(b.httpUrl)).node.leader ? true : undefined),
      'node B leading',
    );
    // Back to the present: every device was seen at B's start, none is offline any more.
    offsetMs = 0;
    await waitFor(
      async () => {
        const rows = (
          await b.hub.db.pool.query<{ state: string }>(
            `SELECT state FROM alarms WHERE rule_id = 'all.offline'`,
          )
        ).rows;
        return rows.every((r) => r.state === 'cleared') ? true : undefined;
      },
      'node B clearing the offline alarms node A raised',
      30_000,
    );
    expect(b.hub.alarms.counters.cleared).toBeGreaterThanOrEqual(raised.length);
    expect(b.hub.alarms.counters.opened).toBe(0);
  });
});
