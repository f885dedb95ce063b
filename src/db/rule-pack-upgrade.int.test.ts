import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrimaryDatabase, type TestDatabase } from '../../test/support/databases.js';
import type { RuleDefinition } from '../domain/index.js';
import { defaultRulePack } from '../rules/index.js';
import {
  createPool,
  editRule,
  getRule,
  insertMissingRules,
  listPackUpdates,
  listRuleVersions,
  migrate,
  upgradePackRules,
  type Pool,
} from './index.js';

/**
 * A database started with an older pack meets a newer one: rules the city has
 * not edited take the new default at their next version, edited ones are kept
 * and the newer default is offered.
 */
describe('upgrading stored default rules to a newer pack', () => {
  let database: TestDatabase;
  let pool: Pool;
  beforeAll(async () => {
    database = await createPrimaryDatabase();
    pool = createPool(database.url, 2, pino({ level: 'silent' }));
    await migrate(pool, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  /** The pack with one rule's definition changed. */
  const withRule = (
    pack: readonly RuleDefinition[],
    id: string,
    change: (r: RuleDefinition) => RuleDefinition,
  ) => pack.map((r) => (r.id === id ? change(r) : r));
  const withoutRising = (r: RuleDefinition): RuleDefinition => {
    const { rising: _rising, ...settings } = r.settings as Record<string, unknown>;
    return { ...r, settings };
  };

  it('upgrades an unedited old row, keeps an edited one and offers it the new default', async () => {
    // An older hub stored gas.ch4 without `rising` and pm10 in older wording, before packs were remembered.
    const old = withRule(
      withRule(defaultRulePack, 'gas.ch4', withoutRising),
      'dust_noise.pm10',
      (r) => ({ ...r, description: 'older wording' }),
    );
    expect(await insertMissingRules(pool, old)).toBe(old.length);
    const edited = await editRule(pool, 'dust_noise.pm10', { title: '扬尘超标 (city wording)' });
    expect(edited?.version).toBe(2);

    expect(await upgradePackRules(pool, defaultRulePack)).toEqual({
      upgraded: ['gas.ch4'],
      kept: ['dust_noise.pm10'],
    });
    const ch4 = await getRule(pool, 'gas.ch4');
    expect(ch4).toMatchObject({ version: 2 });
    expect(ch4!.settings).toHaveProperty('rising');
    expect((await listRuleVersions(pool, 'gas.ch4')).map((v) => v.version)).toEqual([1, 2]);
    expect(await getRule(pool, 'dust_noise.pm10')).toMatchObject({
      version: 2,
      title: '扬尘超标 (city wording)',
      description: 'older wording',
    });
    const pending = await listPackUpdates(pool);
    expect([...pending.keys()]).toEqual(['dust_noise.pm10']);
    expect(pending.get('dust_noise.pm10')).toMatchObject({
      description: defaultRulePack.find((r) => r.id === 'dust_noise.pm10')!.description,
    });

    // The next start with the same pack changes nothing.
    expect(await upgradePackRules(pool, defaultRulePack)).toEqual({
      upgraded: [],
      kept: ['dust_noise.pm10'],
    });
    expect((await getRule(pool, 'gas.ch4'))?.version).toBe(2);

    // A later pack moves gas.ch4 again: the remembered definition (not version 1) says it is unedited.
    const later = withRule(defaultRulePack, 'gas.ch4', (r) => ({ ...r, title: `${r.title} ` }));
    expect((await upgradePackRules(pool, later)).upgraded).toEqual(['gas.ch4']);
    expect((await getRule(pool, 'gas.ch4'))?.version).toBe(3);
    // Edited by the city after that: kept at the next pack.
    await editRule(pool, 'gas.ch4', { severity: 'critical' });
    expect(await upgradePackRules(pool, defaultRulePack)).toMatchObject({
      upgraded: [],
      kept: ['dust_noise.pm10', 'gas.ch4'],
    });
    expect((await getRule(pool, 'gas.ch4'))?.version).toBe(4);
  });
});
