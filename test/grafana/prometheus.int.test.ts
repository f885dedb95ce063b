import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';

interface Dashboard {
  uid: string;
  panels: { title: string; datasource: { uid: string }; targets: { expr?: string }[] }[];
}

const dir = new URL('../../grafana/dashboards/', import.meta.url);
const dashboards = await Promise.all(
  (await readdir(dir))
    .filter((f) => f.endsWith('.json'))
    .map(async (f) => JSON.parse(await readFile(new URL(f, dir), 'utf8')) as Dashboard),
);
const promPanels = dashboards.flatMap((d) =>
  d.panels
    .filter((p) => p.datasource.uid === 'ufh-prometheus')
    .map((p) => ({ uid: d.uid, title: p.title, exprs: p.targets.map((t) => t.expr ?? '') })),
);

/** Metric names in a PromQL expression: identifiers not followed by `(`, not label names or keywords. */
function metricsOf(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\b(by|without)\s*\([^)]*\)/g, '');
  return [...withoutLabels.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((name) => name.includes('_'));
}

/**
 * The hub operations dashboard reads the hub's /metrics through Prometheus
 * (issue #14): every metric its PromQL names is one the hub exports, so a
 * panel cannot sit empty over a renamed or invented metric.
 */
describe('the Prometheus panels against the hub’s /metrics', () => {
  let t: TestHub;
  let exported: Set<string>;

  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
    const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
    exported = new Set(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
        type === 'histogram' || type === 'summary'
          ? [`${name}_bucket`, `${name}_sum`, `${name}_count`, name!]
          : [name!],
      ),
    );
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('has Prometheus panels', () => {
    expect(promPanels.length).toBeGreaterThan(0);
  });

  it.each(promPanels.map((p) => [`${p.uid} / ${p.title}`, p] as const))(
    '%s names only metrics the hub exports',
    (_name, p) => {
      for (const expr of p.exprs) {
        const names = metricsOf(expr);
        expect(names.length, expr).toBeGreaterThan(0);
        for (const name of names) expect(exported.has(name), `${name} in ${expr}`).toBe(true);
      }
    },
  );
});
