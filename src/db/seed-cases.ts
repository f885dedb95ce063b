import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  facilityTypes,
  generateSecret,
  hashSecret,
  secretCost,
  type DeadlineUnit,
  type FacilityType,
} from '../domain/index.js';
import type { Queryable } from './pool.js';
import { countUsers, insertUser } from './users.js';

/**
 * Default deadlines (domain.md, "Deadlines"), per severity with facility-type
 * overrides. `unit` says whether the handling minutes are calendar or working
 * minutes (a working day is 450 working minutes with the default WORKING_HOURS);
 * dispatch is "verify and dispatch within 1 working hour" (domain.md, Fuzhou
 * practice), in the row's unit: a deadline counted round the clock (critical
 * cases, ponding, the 24 h lamp fault) is dispatched round the clock too.
 */
export const defaultDeadlines: readonly {
  severity: string;
  facilityType: string | null;
  acceptMinutes: number;
  handleMinutes: number;
  unit: DeadlineUnit;
  dispatchMinutes: number;
  dispatchUnit: DeadlineUnit;
  source: string;
}[] = [
  {
    severity: 'critical',
    facilityType: null,
    acceptMinutes: 30,
    handleMinutes: 360,
    unit: 'calendar',
    dispatchMinutes: 60,
    dispatchUnit: 'calendar',
    source: 'domain.md: critical, on site 30 min, fixed in 2–6 h',
  },
  {
    severity: 'critical',
    facilityType: 'elevator',
    acceptMinutes: 30,
    handleMinutes: 30,
    unit: 'calendar',
    dispatchMinutes: 60,
    dispatchUnit: 'calendar',
    source: 'TSG T5002: trapped passengers, rescue within 30 min',
  },
  {
    severity: 'critical',
    facilityType: 'manhole',
    acceptMinutes: 30,
    handleMinutes: 360,
    unit: 'calendar',
    dispatchMinutes: 60,
    dispatchUnit: 'calendar',
    source: 'Tianjin/Guangzhou: missing or displaced cover fixed within 6 h',
  },
  {
    severity: 'critical',
    facilityType: 'gas',
    acceptMinutes: 30,
    handleMinutes: 120,
    unit: 'calendar',
    dispatchMinutes: 60,
    dispatchUnit: 'calendar',
    source: 'domain.md: critical 2–6 h; gas at the short end (default)',
  },
  {
    severity: 'critical',
    facilityType: 'waterlogging',
    acceptMinutes: 30,
    handleMinutes: 240,
    unit: 'calendar',
    dispatchMinutes: 60,
    dispatchUnit: 'calendar',
    source: 'road ponding: on site 30 min, cleared in 4 h',
  },
  {
    severity: 'major',
    facilityType: null,
    acceptMinutes: 60,
    handleMinutes: 450,
    unit: 'working',
    dispatchMinutes: 60,
    dispatchUnit: 'working',
    source: 'domain.md: major, 1 working day',
  },
  {
    severity: 'major',
    facilityType: 'streetlight',
    acceptMinutes: 60,
    handleMinutes: 1350,
    unit: 'working',
    dispatchMinutes: 60,
    dispatchUnit: 'working',
    source: 'Hebei urban lighting rules: serious fault 3 working days',
  },
  {
    severity: 'major',
    facilityType: 'waterlogging',
    acceptMinutes: 30,
    handleMinutes: 240,
    unit: 'calendar',
    dispatchMinutes: 60,
    dispatchUnit: 'calendar',
    source: 'road ponding: on site 30 min, cleared in 4 h',
  },
  {
    severity: 'minor',
    facilityType: null,
    acceptMinutes: 60,
    handleMinutes: 1350,
    unit: 'working',
    dispatchMinutes: 60,
    dispatchUnit: 'working',
    source: 'domain.md: minor, 3–5 working days',
  },
  {
    severity: 'minor',
    facilityType: 'streetlight',
    acceptMinutes: 60,
    handleMinutes: 1440,
    unit: 'calendar',
    dispatchMinutes: 60,
    dispatchUnit: 'calendar',
    source: 'Hebei urban lighting rules: ordinary fault 24 h',
  },
  {
    severity: 'warning',
    facilityType: null,
    acceptMinutes: 60,
    handleMinutes: 2250,
    unit: 'working',
    dispatchMinutes: 60,
    dispatchUnit: 'working',
    source: 'domain.md: minor 3–5 working days; warnings at the long end (default)',
  },
];

/** Departments that maintain each facility type in the demo city (属地管理 + 部门报到). */
const departmentNames = {
  lighting: '市城市照明管理处',
  drainage: '市排水管理处',
  gas: '燃气公司抢修中心',
  enforcement: '城管执法局',
  elevator: '电梯维保单位',
} as const;
/** A record, so a new facility type does not compile until it has a department (issue #12). */
const departmentOfType: Readonly<Record<FacilityType, keyof typeof departmentNames>> = {
  streetlight: 'lighting',
  manhole: 'drainage',
  pump_station: 'drainage',
  waterlogging: 'drainage',
  gas: 'gas',
  dust_noise: 'enforcement',
  elevator: 'elevator',
};
export const demoDepartments: readonly {
  id: string;
  name: string;
  types: readonly FacilityType[];
}[] = Object.entries(departmentNames).map(([id, name]) => ({
  id,
  name,
  types: facilityTypes.filter((t) => departmentOfType[t] === id),
}));

/**
 * Seeds default deadlines (once, when the table is empty) and, when the demo
 * city is there, its departments, one crew per department and district, and
 * the routing table: facility type × district → department → crew.
 */
export async function seedCaseWorkflow(db: Queryable): Promise<void> {
  const { rows: d } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM case_deadlines`,
  );
  if (d[0]!.n === 0) {
    await db.query(
      `INSERT INTO case_deadlines (severity, facility_type, accept_minutes, handle_minutes, unit,
         dispatch_minutes, dispatch_unit, source)
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS x(severity text, facility_type text, accept_minutes int, handle_minutes int, unit text,
              dispatch_minutes int, dispatch_unit text, source text)`,
      [
        JSON.stringify(
          defaultDeadlines.map((x) => ({
            severity: x.severity,
            facility_type: x.facilityType,
            accept_minutes: x.acceptMinutes,
            handle_minutes: x.handleMinutes,
            unit: x.unit,
            dispatch_minutes: x.dispatchMinutes,
            dispatch_unit: x.dispatchUnit,
            source: x.source,
          })),
        ),
      ],
    );
  }
  // Recovery seen by telemetry verifies these without a supervisor (issue #5); a device
  // publishing too fast is a configuration matter for the vendor, not a field case (#6),
  // degraded storage one for the hub's operators (issue 11).
  await db.query(
    `INSERT INTO rule_case_policies (rule_id, open_case, auto_verify_after_s)
     VALUES ('waterlogging.depth', true, 1800), ('streetlight.dark', true, 600),
            ('all.mqtt_rate_abuse', false, NULL), ('all.storage_degraded', false, NULL)
     ON CONFLICT (rule_id) DO NOTHING`,
  );

  const { rows: districts } = await db.query<{ code: string; name: string }>(
    `SELECT code, name FROM areas WHERE level = 'district' ORDER BY code`,
  );
  const { rows: r } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM dispatch_routes`,
  );
  if (districts.length === 0 || r[0]!.n > 0) return;
  for (const dept of demoDepartments) {
    await db.query(`INSERT INTO departments (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
      dept.id,
      dept.name,
    ]);
    for (const district of districts) {
      const crewId = `${dept.id}-${district.code}`;
      await db.query(
        `INSERT INTO crews (id, department_id, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [crewId, dept.id, `${dept.name}${district.name}班组`],
      );
      for (const type of dept.types) {
        await db.query(
          `INSERT INTO dispatch_routes (facility_type, area_prefix, department_id, crew_id)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
          [type, district.code, dept.id, crewId],
        );
      }
    }
  }
}

export const adminPasswordFile = 'admin-password';

/**
 * On first start with no users, creates `admin` with a random password written to
 * `<dataDir>/admin-password` (mode 0600); the database keeps only its hash.
 * Returns the file's path when it created the user.
 */
export async function ensureAdminUser(db: Queryable, dataDir: string): Promise<string | null> {
  if ((await countUsers(db)) > 0) return null;
  const password = generateSecret();
  const created = await insertUser(db, {
    username: 'admin',
    displayName: '系统管理员 Administrator',
    role: 'admin',
    passwordHash: await hashSecret(password, secretCost.password),
  });
  if (!created) return null;
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, adminPasswordFile);
  await writeFile(file, password + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}
