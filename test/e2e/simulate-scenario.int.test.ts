import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';

/**
 * A scripted scenario played by hand (`npm run simulate -- --scenario gas-leak
 * --speed 60`) against a real hub over MQTT: the CLI as a child process, the
 * hub in-process. At speed 60 the 20-minute script takes 20 s, and the gas
 * rule, judged on reading time, sees the script exactly.
 */
describe('npm run simulate -- --scenario gas-leak --speed 60', () => {
  let t: TestHub;
  let dir: string;
  beforeAll(async () => {
    t = await startTestHub();
    dir = await mkdtemp(path.join(os.tmpdir(), 'simulate-scenario-'));
  });
  afterAll(async () => {
    await t?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('raises the level-1 gas alarm, takes it to level 2 and clears it, and nothing else', async () => {
    const gas = t.devices.gas;
    const events: string[] = [];
    t.hub.alarms.onAlarm((e) => {
      if (e.alarm.source === gas.id) events.push(`${e.kind} ${e.alarm.ruleId} ${e.alarm.severity}`);
    });
    const file = path.join(dir, 'devices.csv');
    await writeFile(
      file,
      ['id,type,grid_code,name,lat,lon,secret,road']
        .concat(
          Object.values(t.devices).map(
            (d) => `${d.id},${d.type},${d.gridCode},x,27.8,112.9,${d.secret},`,
          ),
        )
        .join('\n') + '\n',
    );
    const port = new URL(t.mqttUrl).port;
    const args = ['--import', 'tsx', 'src/simulators/cli.ts', '--scenario', 'gas-leak'];
    const child = spawn(
      process.execPath,
      [...args, '--speed', '60', '--port', port, '--credentials', file],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(0);
    expect(out).toContain(`Playing gas-leak (20 min of script) at speed 60`);
    expect(out).toMatch(/Done\. 1 devices, published 20, failed 0\./);
    await t.hub.alarms.settled();
    await t.hub.alarms.flushHolds();
    expect(events).toEqual([
      'opened gas.ch4 major',
      'updated gas.ch4 critical',
      'cleared gas.ch4 critical',
    ]);
    const { rows } = await t.hub.db.pool.query(
      `SELECT rule_id, state, severity, peak_value FROM alarms WHERE source = $1`,
      [gas.id],
    );
    expect(rows).toEqual([
      { rule_id: 'gas.ch4', state: 'cleared', severity: 'critical', peak_value: 60 },
    ]);
  }, 120_000);
});
