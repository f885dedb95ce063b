/**
 * Grafana's SQL macros and template variables, expanded as Grafana's
 * PostgreSQL data source expands them (Grafana 11), so the dashboards' SQL can
 * run on a real database without a Grafana server. Only what the dashboards
 * use; anything else throws, so a panel cannot use a macro this does not know.
 */
export interface TimeRange {
  readonly from: Date;
  readonly to: Date;
}

/**
 * A variable's value: a string is a single value of a variable that is neither
 * multi nor includeAll (put in as is, quotes doubled); an array is the value of
 * a multi or includeAll variable (each value quoted, joined by commas), and
 * "All" is the array of every option.
 */
export type VariableValues = Readonly<Record<string, string | readonly string[]>>;

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Seconds of a Grafana interval such as `30s`, `5m`, `1h`, `1d`. */
export function intervalSeconds(interval: string): number {
  const m = /^'?(\d+)(s|m|h|d|w)'?$/.exec(interval.trim());
  if (!m) throw new Error(`not an interval: ${interval}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

/** The arguments of a macro call starting at `open` (the index of its `(`), and the index after `)`. */
function callArgs(sql: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = open + 1;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'") quoted = !quoted;
    if (quoted) continue;
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) {
        const last = sql.slice(start, i).trim();
        if (last !== '' || args.length > 0) args.push(last);
        return { args, end: i + 1 };
      }
    } else if (c === ',' && depth === 1) {
      args.push(sql.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new Error(`unclosed macro call at ${open}`);
}

function expandMacros(sql: string, range: TimeRange): string {
  const from = quote(range.from.toISOString());
  const to = quote(range.to.toISOString());
  let out = '';
  let i = 0;
  for (;;) {
    const at = sql.indexOf('$__', i);
    if (at === -1) return out + sql.slice(i);
    out += sql.slice(i, at);
    const name = /^\$__(\w+)/.exec(sql.slice(at))![1]!;
    const open = at + 3 + name.length;
    if (sql[open] !== '(') throw new Error(`unsupported Grafana macro or variable $__${name}`);
    const { args, end } = callArgs(sql, open);
    const group = () => {
      if (args.length < 2) throw new Error(`$__${name} needs a column and an interval`);
      const s = intervalSeconds(args[1]!);
      return `floor(extract(epoch from ${args[0]})/${s})*${s}`;
    };
    switch (name) {
      case 'timeFilter':
        out += `${args[0]} BETWEEN ${from} AND ${to}`;
        break;
      case 'timeFrom':
        out += from;
        break;
      case 'timeTo':
        out += to;
        break;
      case 'timeGroup':
        out += group();
        break;
      case 'timeGroupAlias':
        out += `${group()} AS "time"`;
        break;
      default:
        throw new Error(`unsupported Grafana macro $__${name}`);
    }
    i = end;
  }
}

/** The template variables a piece of SQL uses: `$name`, `${name}`, `${name:format}`, `[[name]]`. */
export function variablesUsed(sql: string): string[] {
  const names = new Set<string>();
  for (const m of sql.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)) {
    const name = m[1] ?? m[2] ?? m[3]!;
    if (!name.startsWith('__')) names.add(name);
  }
  return [...names];
}

function expandVariables(sql: string, values: VariableValues): string {
  return sql.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a, b, c) => {
    const name = (a ?? b ?? c) as string;
    if (name.startsWith('__')) return whole;
    const value = values[name];
    if (value === undefined) throw new Error(`undefined template variable $${name}`);
    if (typeof value === 'string') return value.replace(/'/g, "''");
    if (value.length === 0) throw new Error(`template variable $${name} has no value`);
    return value.map(quote).join(',');
  });
}

/** The SQL Grafana would send for this time range and these variable values. */
export function expandGrafanaSql(sql: string, range: TimeRange, values: VariableValues): string {
  return expandMacros(expandVariables(sql, values), range);
}
