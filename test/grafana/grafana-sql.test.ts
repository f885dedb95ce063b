import { describe, expect, it } from 'vitest';
import { expandGrafanaSql, intervalSeconds, variablesUsed } from '../support/grafana-sql.js';

const range = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-02T12:30:00Z') };

describe("Grafana's SQL macros, expanded as its PostgreSQL data source does", () => {
  it('turns $__timeFilter into a BETWEEN over the range in UTC', () => {
    expect(expandGrafanaSql('WHERE $__timeFilter(t.bucket)', range, {})).toBe(
      "WHERE t.bucket BETWEEN '2026-11-01T00:00:00.000Z' AND '2026-11-02T12:30:00.000Z'",
    );
  });

  it('puts $__timeFrom() and $__timeTo() in as quoted timestamps', () => {
    expect(expandGrafanaSql('a > $__timeFrom() AND a < $__timeTo()', range, {})).toBe(
      "a > '2026-11-01T00:00:00.000Z' AND a < '2026-11-02T12:30:00.000Z'",
    );
  });

  it('groups by epoch seconds in $__timeGroup and names the column time in $__timeGroupAlias', () => {
    expect(expandGrafanaSql("SELECT $__timeGroupAlias(t.bucket, '5m'), 1", range, {})).toBe(
      'SELECT floor(extract(epoch from t.bucket)/300)*300 AS "time", 1',
    );
    expect(expandGrafanaSql("GROUP BY $__timeGroup(date_trunc('day', x), 1d)", range, {})).toBe(
      "GROUP BY floor(extract(epoch from date_trunc('day', x))/86400)*86400",
    );
  });

  it('puts a single value in as is, a multi value and All as a quoted list', () => {
    const sql = "WHERE d.type = '$type' AND left(g, 6) IN ($district) AND s IN (${street})";
    expect(
      expandGrafanaSql(sql, range, {
        type: 'gas',
        district: ['430302'],
        street: ['430302001', "4303'02"],
      }),
    ).toBe("WHERE d.type = 'gas' AND left(g, 6) IN ('430302') AND s IN ('430302001','4303''02')");
  });

  it('refuses an undefined variable, an empty selection and a macro it does not know', () => {
    expect(() => expandGrafanaSql('IN ($nope)', range, {})).toThrow(
      /undefined template variable \$nope/,
    );
    expect(() => expandGrafanaSql('IN ($d)', range, { d: [] })).toThrow(/no value/);
    expect(() => expandGrafanaSql('$__unixEpochFilter(t)', range, {})).toThrow(/unsupported/);
    expect(() => expandGrafanaSql("$__timeGroup(t, 'soon')", range, {})).toThrow(/not an interval/);
  });

  it('lists the variables a query uses, not the macros', () => {
    expect(
      variablesUsed('$__timeFilter(x) AND a IN ($district) AND b = ${street:csv} AND [[kind]]'),
    ).toEqual(['district', 'street', 'kind']);
    expect(intervalSeconds("'1h'")).toBe(3600);
  });
});
