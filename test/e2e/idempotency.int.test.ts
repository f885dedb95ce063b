import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseDetail, CaseEvent } from '../../src/domain/index.js';
import {
  authed,
  createUsers,
  lightingAreas,
  startTestHub,
  streetlightPlace,
  type TestHub,
} from '../support/hub.js';
import { photoForm } from '../support/photos.js';

/**
 * `Idempotency-Key` on case creation and case actions (issue #13): what the
 * crew app's offline queue and Node-RED's `case action` replay when they do
 * not know whether the first try landed.
 */
describe('idempotency keys', () => {
  let t: TestHub;
  let grid = '';
  let district = '';
  const as: Record<string, ReturnType<typeof authed>> = {};

  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
    ({ grid, district } = lightingAreas(t));
    const users = await createUsers(t.httpUrl, t.adminToken, [
      { username: 'op1', role: 'operator' },
      { username: 'op2', role: 'operator' },
      { username: 'crew-a', role: 'crew', crewId: `lighting-${district}` },
      { username: 'insp1', role: 'inspector', areaCode: grid },
    ]);
    for (const [name, u] of Object.entries(users)) as[name] = authed(u.token);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const send = (who: string, path: string, body: object, key?: string) =>
    as[who]!(`${t.httpUrl}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: key ? { 'idempotency-key': key } : {},
    });
  const hotline = (title: string) => ({
    source: 'hotline',
    severity: 'minor',
    title,
    facilityType: 'streetlight',
    gridCode: grid,
  });
  const count = async (title: string) =>
    (
      await t.hub.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM cases WHERE title = $1`,
        [title],
      )
    ).rows[0]!.n;

  it('creates a case once for a key sent twice, and answers the retry with the same status and body', async () => {
    const first = await send('op1', '/api/cases', hotline('热线 once'), 'create-1');
    expect(first.status).toBe(201);
    const body = await first.text();
    const again = await send('op1', '/api/cases', hotline('热线 once'), 'create-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(body);
    expect(await count('热线 once')).toBe(1);
  });

  it('refuses the same key with another body (422), and keeps keys per user', async () => {
    expect((await send('op1', '/api/cases', hotline('热线 A'), 'create-2')).status).toBe(201);
    const other = await send('op1', '/api/cases', hotline('热线 B'), 'create-2');
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ code: 'HUB_ERR_IDEMPOTENCY_MISMATCH' });
    // Another user's key of the same name is another key.
    expect((await send('op2', '/api/cases', hotline('热线 B'), 'create-2')).status).toBe(201);
    expect(await count('热线 B')).toBe(1);
  });

  it('applies a case action once when an offline phone replays it, and replays a refusal as it was', async () => {
    const c = (await (await send('op1', '/api/cases', hotline('热线 crew'))).json()) as CaseDetail;
    expect(c.state).toBe('dispatched');
    const accept = () => send('crew-a', `/api/cases/${c.id}/actions/accept`, {}, `accept-${c.id}`);
    const [a, b] = [await accept(), await accept()];
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(await b.text()).toBe(await a.text());
    const note = { note: '已更换灯具 lamp replaced' };
    const handle = () =>
      send('crew-a', `/api/cases/${c.id}/actions/handle`, note, `handle-${c.id}`);
    expect((await handle()).status).toBe(200);
    expect((await handle()).status).toBe(200);
    const detail = (await (await as['op1']!(`${t.httpUrl}/api/cases/${c.id}`)).json()) as {
      timeline: CaseEvent[];
    };
    expect(detail.timeline.filter((e) => e.action === 'accept')).toHaveLength(1);
    expect(detail.timeline.filter((e) => e.action === 'handle')).toHaveLength(1);

    // A refusal (the case moved on) is stored too: the retry hears the same 409.
    const late = await send('crew-a', `/api/cases/${c.id}/actions/accept`, {}, 'accept-late');
    expect(late.status).toBe(409);
    const lateAgain = await send('crew-a', `/api/cases/${c.id}/actions/accept`, {}, 'accept-late');
    expect(lateAgain.status).toBe(409);
    expect(lateAgain.headers.get('idempotent-replayed')).toBe('true');
  });

  it('refuses a malformed key and changes nothing without one', async () => {
    const bad = await send('op1', '/api/cases', hotline('热线 bad key'), 'x'.repeat(201));
    expect(bad.status).toBe(400);
    expect(await count('热线 bad key')).toBe(0);
    expect((await send('op1', '/api/cases', hotline('热线 no key'))).status).toBe(201);
    expect((await send('op1', '/api/cases', hotline('热线 no key'))).status).toBe(201);
    expect(await count('热线 no key')).toBe(2);
  });

  it('files an inspector report once when the phone replays it with its key (issue #16)', async () => {
    const { lat, lon } = await streetlightPlace(t);
    const form = () =>
      photoForm({
        categoryCode: 'B0125',
        lat,
        lon,
        note: '井盖破损 replayed',
      });
    const report = () =>
      as['insp1']!(`${t.httpUrl}/api/field-reports`, {
        method: 'POST',
        body: form(),
        headers: { 'idempotency-key': 'report-1' },
      });
    const first = await report();
    expect(first.status).toBe(201);
    const again = await report();
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(await first.text());
    const { rows } = await t.hub.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM field_reports WHERE note = $1`,
      ['井盖破损 replayed'],
    );
    expect(rows[0]!.n).toBe(1);
  });
});
