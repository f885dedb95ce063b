import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, createUsers, lightingAreas, startTestHub, type TestHub } from '../support/hub.js';
import { photoForm } from '../support/photos.js';

/**
 * CASE_VERIFY_BY=control_room (issue #16): a city that keeps verification in
 * the control room. The grid's inspector gets no task and is refused; the
 * supervisor verifies on the same route and the case closes.
 */
describe('on-site verification by the control room', () => {
  let t: TestHub;
  const as: Record<string, ReturnType<typeof authed>> = {};
  let grid = '';
  let district = '';
  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any }); // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000', CASE_VERIFY_BY: 'control_room' });
    ({ grid, district } = lightingAreas(t));
    const users = await createUsers(t.httpUrl, t.adminToken, [
      { username: 'op1', role: 'operator' },
      { username: 'sup1', role: 'supervisor' },
      { username: 'insp1', role: 'inspector', areaCode: grid },
      { username: 'crew-a', role: 'crew', crewId: `lighting-${district}` },
    ]);
    for (const [name, u] of Object.entries(users)) as[name] = authed(u.token);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const post = (who: string, url: string, body: object | FormData = {}) =>
    as[who]!(`${t.httpUrl}${url}`, {
      method: 'POST',
      body: body instanceof FormData ? body : JSON.stringify(body),
    }).then(json);

  it('leaves the inspector out and lets the supervisor verify', async () => {
    const created = await post('op1', '/api/cases', {
      source: 'hotline',
      severity: 'minor',
      title: '12345 热线：路灯不亮',
      facilityType: 'streetlight',
      gridCode: grid,
    });
    expect(created.body).toMatchObject({ state: 'dispatched', categoryCode: 'B0125' });
    const id = created.body.id as number;
    expect((await post('crew-a', `/api/cases/${id}/actions/accept`)).status).toBe(200);
    expect(
      (await post('crew-a', `/api/cases/${id}/actions/handle`, { note: '已修复' })).status,
    ).toBe(200);
    const tasks = await as.insp1!(`${t.httpUrl}/api/verifications`).then(json);
    expect(tasks.body.tasks).toEqual([]);
    const refused = await post(
      'insp1',
      `/api/cases/${id}/verification`,
      photoForm({ result: 'passed' }),
    );
    expect(refused).toMatchObject({ status: 403, body: { code: 'HUB_ERR_VERIFY_NOT_YOURS' } });
    const passed = await post(
      'sup1',
      `/api/cases/${id}/verification`,
      photoForm({ result: 'passed' }),
    );
    expect(passed.status).toBe(200);
    expect(passed.body.case.state).toBe('closed');
    expect(passed.body.verification).toMatchObject({ result: 'passed', inspectorName: 'sup1' });
  });
});
