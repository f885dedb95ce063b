import * as echarts from 'echarts';
import type { Evaluation, ReportFigures } from '../cases/index.js';
import {
  evaluationIndicators,
  facilityCatalog,
  type EvaluationIndicator,
  type FacilityType,
} from '../domain/index.js';
import { levelSheetNames } from './report-excel.js';

/**
 * A stored report as one A4 HTML page for the browser's print to PDF: the
 * city's name, the period, charts drawn on the server as SVG (ECharts' server
 * side rendering: no script on the page, so the CSP holds and the print is
 * what the screen shows), the rankings and the top problems. Every text from
 * the database is escaped.
 */

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => escapes[c]!);

/** The ranking columns that fit an A4 page; the workbook has them all. */
const printColumns: readonly EvaluationIndicator[] = [
  'registered',
  'closed',
  'closureRate',
  'onTimeClosureRate',
  'handlingRate',
  'onTimeHandlingRate',
  'reworkRate',
  'overduePendingRate',
  'extensionRate',
];

function formatted(k: EvaluationIndicator | 'change', v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (k === 'change') return `${v > 0 ? '+' : ''}${v.toFixed(2)}`;
  switch (evaluationIndicators[k].format) {
    case 'rate':
      return `${(v * 100).toFixed(2)}%`;
    case 'hours':
    case 'score':
      return v.toFixed(2);
    default:
      return String(v);
  }
}

function barChart(title: string, names: readonly string[], values: readonly number[]): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 680, height: 240 });
  chart.setOption({
    animation: false,
    title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
    grid: { left: 48, right: 16, top: 40, bottom: 48 },
    xAxis: {
      type: 'category',
      data: names,
      axisLabel: { interval: 0, rotate: names.length > 6 ? 30 : 0 },
    },
    yAxis: { type: 'value' },
    series: [{ type: 'bar', data: values, label: { show: true, position: 'top' } }],
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

function rankingTable(e: Evaluation): string {
  const head = [
    '排名',
    '名称',
    '综合得分',
    '环比',
    '同比',
    ...printColumns.map((k) => evaluationIndicators[k].zh),
  ];
  const rows = e.rows.map(
    (r) =>
      `<tr><td>${esc(r.rank ?? '—')}</td><td>${esc(r.name ?? r.key ?? '（无）')}</td>` +
      `<td>${formatted('score', r.score)}</td><td>${formatted('change', r.scoreChange)}</td>` +
      `<td>${formatted('change', r.scoreChangeYoY)}</td>` +
      printColumns.map((k) => `<td>${formatted(k, r.indicators[k])}</td>`).join('') +
      '</tr>',
  );
  return (
    `<h2>${esc(levelSheetNames[e.level])}</h2><table data-testid="ranking-${esc(e.level)}">` +
    `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

const style = `
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; color: #111; font-size: 10pt; margin: 0; }
header { border-bottom: 2px solid #8b0000; margin-bottom: 8px; }
h1 { font-size: 18pt; margin: 0 0 4px; color: #8b0000; }
h2 { font-size: 12pt; margin: 14px 0 4px; page-break-after: avoid; }
.meta { color: #444; font-size: 9pt; margin-bottom: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; page-break-inside: auto; }
th, td { border: 1px solid #999; padding: 2px 4px; text-align: right; }
th { background: #eee; text-align: center; }
td:nth-child(2) { text-align: left; }
tr { page-break-inside: avoid; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6px; }
.card { border: 1px solid #bbb; padding: 4px 6px; }
.card b { display: block; font-size: 13pt; }
.chart { page-break-inside: avoid; text-align: center; }
.hint { color: #666; font-size: 8pt; }
@media screen { body { max-width: 210mm; margin: 12px auto; } }
`;

export function reportPrintPage(f: ReportFigures, version: number): string {
  const city = f.cityEvaluation.rows.find((r) => r.key !== null) ?? f.cityEvaluation.rows[0];
  const cards: EvaluationIndicator[] = [
    'registered',
    'closed',
    'closureRate',
    'onTimeClosureRate',
    'reworkRate',
    'lightingRate',
    'integrityRate',
    'onlineRate',
  ];
  const districts = f.evaluations.find((e) => e.level === 'district');
  const ranked = districts?.rows.filter((r) => r.score !== null) ?? [];
  const charts: string[] = [];
  if (ranked.length > 0)
    charts.push(
      barChart(
        '区县综合得分',
        ranked.map((r) => r.name ?? r.key ?? ''),
        ranked.map((r) => r.score!),
      ),
    );
  const problems = f.cityEvaluation.topProblems;
  if (problems.length > 0)
    charts.push(
      barChart(
        '问题类型（案件数）',
        problems.map((p) => p.title),
        problems.map((p) => p.cases),
      ),
    );
  const typeName = (t: string) =>
    t in facilityCatalog ? facilityCatalog[t as FacilityType].nameZh : t;
  const daily = f.daily
    ? `<h2>当日概况</h2><div class="cards">` +
      `<div class="card">告警<b>${f.daily.alarms.reduce((n, a) => n + a.alarms, 0)}</b></div>` +
      `<div class="card">结案<b>${f.daily.casesClosed}</b></div>` +
      `<div class="card">超期未处置<b>${f.daily.overdueOpen}</b></div>` +
      `<div class="card">${esc(f.daily.lastNight.night)} 夜亮灯率<b>${formatted('lightingRate', f.daily.lastNight.rows[0]?.lightingRate)}</b></div>` +
      `</div><table><thead><tr><th>级别</th><th>设施类型</th><th>告警数</th></tr></thead><tbody>` +
      f.daily.alarms
        .map(
          (a) =>
            `<tr><td>${esc(a.severity)}</td><td>${esc(typeName(a.facilityType))}</td><td>${a.alarms}</td></tr>`,
        )
        .join('') +
      `</tbody></table>`
    : '';
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>${esc(f.city.name ?? '')}${esc(f.title.zh)} ${esc(f.period.label)}</title>
<style>${style}</style></head>
<body data-testid="report-print">
<header><h1>${esc(f.city.name ?? '')}${esc(f.title.zh)}</h1>
<div class="meta">${esc(f.title.en)} · 周期 ${esc(f.period.label)}（${esc(f.period.firstDay)} 至 ${esc(f.period.endDay)}，不含末日）· 第 ${version} 版 · 生成于 ${esc(f.generatedAt)} · 时区 ${esc(f.timeZone)}</div></header>
<h2>全市指标</h2><div class="cards">${cards
    .map(
      (k) =>
        `<div class="card">${esc(evaluationIndicators[k].zh)}<b>${formatted(k, city?.indicators[k])}</b></div>`,
    )
    .join('')}</div>
${daily}
${charts.map((svg) => `<div class="chart">${svg}</div>`).join('\n')}
${f.evaluations.map(rankingTable).join('\n')}
<h2>热点网格</h2><table><thead><tr><th>网格</th><th>名称</th><th>案件数</th></tr></thead><tbody>${f.cityEvaluation.hotspots
    .map(
      (h) => `<tr><td>${esc(h.gridCode)}</td><td>${esc(h.name ?? '')}</td><td>${h.cases}</td></tr>`,
    )
    .join('')}</tbody></table>
<p class="hint">得分 = Σ 权重 × 指标得分 ÷ Σ 权重 × 100；权重：${Object.entries(
    f.cityEvaluation.weights,
  )
    .map(([k, w]) => `${esc(evaluationIndicators[k as EvaluationIndicator].zh)} ${w}`)
    .join('，')}。用浏览器“打印”可存为 PDF。</p>
</body></html>`;
}
