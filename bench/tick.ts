/**
 * The rules' fleet tick (#17): every 10 s the time-driven rules (offline,
 * lighting rate, integrity) run over the whole fleet on the hub's one
 * thread, so its length is how long every socket and database answer waits
 * then. Times `evaluator.tick` over a demo city where every device has
 * reported except a silent share.
 * Run: npx tsx bench/tick.ts [devices=100000] [silent share=0.02] [ticks=20]
 */
import { generateDemoCity } from '../src/domain/index.js';
import { createEvaluator, defaultRulePack } from '../src/rules/index.js';

const devices = Number(process.argv[2] ?? 100_000);
const silentShare = Number(process.argv[3] ?? 0.02);
const ticks = Number(process.argv[4] ?? 20);

const city = generateDemoCity({ deviceCount: devices });
const evaluator = createEvaluator(defaultRulePack);
const now = Date.now();
evaluator.setFleet(
  city.devices.map((d) => ({ ...d, road: (d.attrs.road as string | undefined) ?? null })),
  now - 3_600_000,
);
let i = 0;
for (const d of city.devices) if (i++ % 100 >= silentShare * 100) evaluator.observe(d.id, now, {});
const times: number[] = [];
for (let k = 0; k < ticks; k++) {
  const t = performance.now();
  evaluator.tick(now + k * 10_000);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const at = (q: number) => Math.round(times[Math.min(ticks - 1, Math.floor(q * ticks))]! * 10) / 10;
console.log(
  `tick over ${devices} devices (${silentShare * 100} % silent), ${ticks} ticks: median ${at(0.5)} ms, max ${at(1)} ms`,
);
console.log(
  JSON.stringify({
    devices,
    silent_share: silentShare,
    tick_median_ms: at(0.5),
    tick_max_ms: at(1),
  }),
);
