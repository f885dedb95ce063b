/**
 * City map benchmark (#13): the control room's map code in headless Chromium
 * with 1,000 / 10,000 / 100,000 devices: time to first full render, and during
 * a storm of status changes (1,000 a second for 60 s by default) the longest
 * main-thread task (PerformanceObserver `longtask`, tasks over 50 ms) and the
 * dropped updates (markers not showing the state the updates left). Long
 * tasks of the idle page over the first `min(seconds, 10)` s are the baseline
 * of a busy machine.
 * Builds bench/map-page with Vite, serves it on loopback, drives Chromium.
 * Run: npx tsx bench/map-ui.ts [seconds=60] [rate=1000] [counts=1000,10000,100000]
 * (MAP_BENCH_PULSE=0: critical markers without their pulsing animation)
 * A Chromium trace of each run gives every main-thread task of the storm its
 * wall time and its thread CPU time (`tdur`): on a loaded machine a task's
 * wall time includes the time it waited for a core, its CPU time does not, so
 * the CPU time says what the page's own work costs.
 * The last line is one JSON object.
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { launchBrowser, chromiumPath } from '../test/support/browser.js';

const seconds = Number(process.argv[2] ?? 60);
const rate = Number(process.argv[3] ?? 1000);
const counts = (process.argv[4] ?? '1000,10000,100000').split(',').map(Number);
const idle = Math.min(seconds, 10);
const pulse = process.env.MAP_BENCH_PULSE === '0' ? '&pulse=0' : '';

if (!chromiumPath) process.exit(0);
const root = fileURLToPath(new URL('./map-page/', import.meta.url));
const outDir = await mkdtemp(path.join(os.tmpdir(), 'hub-map-bench-'));
await build({
  root,
  logLevel: 'warn',
  build: { outDir, emptyOutDir: true },
  resolve: { alias: { '@domain': fileURLToPath(new URL('../src/domain', import.meta.url)) } },
});

const types: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
};
const server = createServer((req, res) => {
  const file = path.join(
    outDir,
    new URL(req.url ?? '/', 'http://x').pathname.replace(/\/$/, '/index.html'),
  );
  if (!file.startsWith(outDir) || !existsSync(file)) {
    res.statusCode = 404;
    return res.end();
  }
  res.setHeader('content-type', types[path.extname(file)] ?? 'application/octet-stream');
  createReadStream(file).pipe(res);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/** The renderer main thread's tasks that began between two of the page's marks. */
function tasksBetween(events: TraceEvent[], from: string, to: string): TraceEvent[] {
  const start = events.find((e) => e.name === from);
  const end = events.find((e) => e.name === to);
  if (!start || !end) throw new Error(`the trace holds no ${from} / ${to} marks`);
  return events.filter(
    (e) =>
      e.pid === start.pid &&
      e.tid === start.tid &&
      e.ph === 'X' &&
      (e.name === 'ThreadControllerImpl::RunTask' || e.name === 'RunTask') &&
      e.ts + (e.dur ?? 0) >= start.ts &&
      e.ts <= end.ts,
  );
}

const ms = (us: number) => Math.round(us / 100) / 10;

/**
 * From the trace: the main thread's CPU time during the first render, and of
 * the storm's tasks the longest wall time and the longest thread CPU time (ms).
 */
function stormTasks(trace: Buffer) {
  const events = (JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
  const render = tasksBetween(events, 'render-start', 'render-end');
  const tasks = tasksBetween(events, 'storm-start', 'storm-end');
  const wall = tasks.map((e) => e.dur ?? 0);
  const cpu = tasks.map((e) => e.tdur ?? 0);
  return {
    firstRenderCpuMs: ms(render.reduce((a, e) => a + (e.tdur ?? 0), 0)),
    tasks: tasks.length,
    cpuMeasured: tasks.some((e) => e.tdur !== undefined),
    longestWallMs: ms(wall.reduce((a, b) => Math.max(a, b), 0)),
    wallOver50: wall.filter((d) => d > 50_000).length,
    longestCpuMs: ms(cpu.reduce((a, b) => Math.max(a, b), 0)),
    cpuOver50: cpu.filter((d) => d > 50_000).length,
  };
}

const browser = await launchBrowser();
const results: unknown[] = [];
try {
  for (const n of counts) {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await browser.startTracing(page, {
      categories: ['toplevel', 'blink.user_timing', '__metadata'],
    });
    await page.goto(
      `http://127.0.0.1:${port}/?n=${n}&seconds=${seconds}&rate=${rate}&idle=${idle}${pulse}`,
    );
    const handle = await page.waitForFunction(() => window.benchResult ?? window.benchError, null, {
      timeout: (seconds + idle + 120) * 1000,
      polling: 500,
    });
    const r = await handle.jsonValue();
    if (typeof r === 'string') throw new Error(r);
    const cpu = stormTasks(await browser.stopTracing());
    Object.assign(r!, cpu);
    results.push(r);
    console.log(
      `${String(n).padStart(7)} devices: first render ${r!.firstRenderMs} ms (index ${r!.indexMs} ms, draw ${r!.renderMs} ms), ` +
        `${r!.markers} markers; ${r!.updatesSent} updates in ${seconds} s, ${r!.refreshes} refreshes ` +
        `(longest ${r!.maxRefreshMs} ms; longest update batch ${r!.maxTickMs} ms), ` +
        `longest task ${r!.longestTaskMs} ms (${r!.longTasks} over 50 ms; idle baseline ${r!.idleLongestMs} ms, ` +
        `${r!.idleLongTasks} in ${idle} s), dropped ${r!.dropped} of ${r!.checked} markers; ` +
        `trace: first render ${cpu.firstRenderCpuMs} ms of CPU; storm ${cpu.tasks} tasks, longest wall ${cpu.longestWallMs} ms (${cpu.wallOver50} over 50 ms), ` +
        `longest CPU ${cpu.longestCpuMs} ms (${cpu.cpuOver50} over 50 ms)`,
    );
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
  await rm(outDir, { recursive: true, force: true });
}
console.log(JSON.stringify({ bench: 'map-ui', seconds, rate, cpus: os.cpus().length, results }));
