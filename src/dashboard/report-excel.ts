import ExcelJS from 'exceljs';
import type { Evaluation, ReportFigures } from '../cases/index.js';
import {
  evaluationIndicators,
  facilityCatalog,
  type EvaluationIndicator,
  type EvaluationLevel,
  type FacilityType,
} from '../domain/index.js';

/**
 * A stored report as an Excel workbook (exceljs): one sheet per table,
 * Chinese headers, numbers as numbers (rates with a percent format), so a
 * city's staff can sort and sum it. The figures are the report's own: the
 * workbook shows what the API and the print view show.
 */

export const levelSheetNames: Readonly<Record<EvaluationLevel, string>> = {
  city: '全市',
  district: '区县排名',
  street: '街道排名',
  community: '社区排名',
  grid: '网格排名',
  department: '部门排名',
  crew: '班组排名',
};

/** The indicator columns of a ranking, in report order. */
export const rankingColumns = (Object.keys(evaluationIndicators) as EvaluationIndicator[]).filter(
  (k) => k !== 'score' && k !== 'rank',
);

const numberFormats = { count: '0', rate: '0.00%', hours: '0.00', score: '0.00', rank: '0' };

const typeLabel = (t: string | null): string =>
  t !== null && t in facilityCatalog ? facilityCatalog[t as FacilityType].nameZh : (t ?? '—');

function rankingSheet(book: ExcelJS.Workbook, e: Evaluation): void {
  const sheet = book.addWorksheet(levelSheetNames[e.level]);
  sheet.columns = [
    { header: '排名', key: 'rank', width: 6, style: { numFmt: '0' } },
    { header: '编码', key: 'key', width: 18 },
    { header: '名称', key: 'name', width: 18 },
    { header: '综合得分', key: 'score', width: 10, style: { numFmt: '0.00' } },
    { header: '环比（分）', key: 'scoreChange', width: 10, style: { numFmt: '+0.00;-0.00;0' } },
    { header: '同比（分）', key: 'scoreChangeYoY', width: 10, style: { numFmt: '+0.00;-0.00;0' } },
    ...rankingColumns.map((k) => ({
      header: evaluationIndicators[k].zh,
      key: k,
      width: Math.max(10, evaluationIndicators[k].zh.length * 2 + 2),
      style: { numFmt: numberFormats[evaluationIndicators[k].format] },
    })),
  ];
  for (const row of e.rows) {
    sheet.addRow({
      rank: row.rank,
      key: row.key ?? '（无）',
      name: row.name ?? '',
      score: row.score,
      scoreChange: row.scoreChange,
      scoreChangeYoY: row.scoreChangeYoY,
      ...Object.fromEntries(rankingColumns.map((k) => [k, row.indicators[k] ?? null])),
    });
  }
  sheet.getRow(1).font = { bold: true };
  sheet.views = [{ state: 'frozen', xSplit: 3, ySplit: 1 }];
}

export async function reportWorkbook(f: ReportFigures): Promise<ExcelJS.Workbook> {
  const book = new ExcelJS.Workbook();
  book.creator = 'urban-facility-hub';
  book.created = new Date(f.generatedAt);

  const summary = book.addWorksheet('概览');
  summary.columns = [
    { header: '项目', key: 'item', width: 24 },
    { header: '数值', key: 'value', width: 22 },
    { header: '口径', key: 'formula', width: 40 },
  ];
  summary.addRow({ item: '报告', value: `${f.city.name ?? ''}${f.title.zh}` });
  summary.addRow({ item: '周期', value: f.period.label });
  summary.addRow({
    item: '起止（本地日期）',
    value: `${f.period.firstDay} 至 ${f.period.endDay}（不含）`,
  });
  summary.addRow({ item: '生成时间', value: f.generatedAt });
  const city = f.cityEvaluation.rows.find((r) => r.key !== null) ?? f.cityEvaluation.rows[0];
  for (const k of Object.keys(evaluationIndicators) as EvaluationIndicator[]) {
    if (k === 'rank') continue;
    const def = evaluationIndicators[k];
    const row = summary.addRow({
      item: def.zh,
      value: city?.indicators[k] ?? null,
      formula: 'formula' in def ? def.formula : '',
    });
    row.getCell('value').numFmt = numberFormats[def.format];
  }
  summary.getRow(1).font = { bold: true };

  if (f.daily) {
    const alarms = book.addWorksheet('告警');
    alarms.columns = [
      { header: '级别', key: 'severity', width: 10 },
      { header: '设施类型', key: 'type', width: 14 },
      { header: '告警数', key: 'alarms', width: 10, style: { numFmt: '0' } },
    ];
    for (const a of f.daily.alarms)
      alarms.addRow({ severity: a.severity, type: typeLabel(a.facilityType), alarms: a.alarms });
    alarms.getRow(1).font = { bold: true };
    const flow = summary.addRow({ item: '当日结案数', value: f.daily.casesClosed });
    flow.getCell('value').numFmt = '0';
    summary.addRow({ item: '超期未处置案件', value: f.daily.overdueOpen }).getCell('value').numFmt =
      '0';
    const lighting = book.addWorksheet('昨夜亮灯率');
    lighting.columns = [
      { header: '区域编码', key: 'area', width: 18 },
      { header: '名称', key: 'name', width: 18 },
      {
        header: `亮灯率（${f.daily.lastNight.night} 夜）`,
        key: 'rate',
        width: 22,
        style: { numFmt: '0.00%' },
      },
    ];
    for (const r of f.daily.lastNight.rows)
      lighting.addRow({ area: r.area ?? '', name: r.name ?? '', rate: r.lightingRate });
    lighting.getRow(1).font = { bold: true };
  }

  for (const e of f.evaluations) rankingSheet(book, e);

  const problems = book.addWorksheet('问题类型');
  problems.columns = [
    { header: '设施类型', key: 'type', width: 14 },
    { header: '规则', key: 'rule', width: 30 },
    { header: '问题', key: 'title', width: 36 },
    { header: '案件数', key: 'cases', width: 10, style: { numFmt: '0' } },
  ];
  for (const p of f.cityEvaluation.topProblems)
    problems.addRow({
      type: typeLabel(p.facilityType),
      rule: p.ruleId ?? '',
      title: p.title,
      cases: p.cases,
    });
  problems.getRow(1).font = { bold: true };

  const hotspots = book.addWorksheet('热点网格');
  hotspots.columns = [
    { header: '网格编码', key: 'grid', width: 18 },
    { header: '名称', key: 'name', width: 18 },
    { header: '案件数', key: 'cases', width: 10, style: { numFmt: '0' } },
  ];
  for (const h of f.cityEvaluation.hotspots)
    hotspots.addRow({ grid: h.gridCode, name: h.name ?? '', cases: h.cases });
  hotspots.getRow(1).font = { bold: true };
  return book;
}
