/**
 * The per-message CPU path without I/O: decode + validate a payload, then
 * evaluate the device's rules. Prints its figures; the last line is JSON.
 * Run: npx tsx bench/hot-path.ts [messages]
 */
import { performance } from 'node:perf_hooks';
import { facilityTypes, generateDemoCity, type FacilityType } from '../src/domain/index.js';
import { createDecoder } from '../src/ingest/index.js';
import { createEvaluator, defaultRulePack } from '../src/rules/index.js';

const total = Number(process.argv[2] ?? 500_000);
const city = generateDemoCity({ deviceCount: 10_000 });
const samples: Record<FacilityType, string> = {
  streetlight:
    '{"on":true,"dim":100,"voltage":221.4,"current":0.45,"power":98.2,"pf":0.96,"leakage":2.1,"energy":1234.5}',
  manhole: '{"tilt":1.2,"open":false,"water_level":180,"battery":87}',
  pump_station:
    '{"well_level":1.4,"power_ok":true,"flow":320,"pump_1_running":true,"pump_1_current":35.2,"pump_1_fault":false}',
  waterlogging: '{"depth":0,"rain_mm_h":3.5}',
  gas: '{"pressure":3.02,"ch4":1.1,"temp":14.5,"valve_open":true}',
  dust_noise: '{"pm10":86,"pm25":51,"tsp":140,"noise":63.5,"wind_speed":2.1,"humidity":62}',
  elevator:
    '{"floor":7,"door_open":false,"moving":true,"direction":"up","speed":1.5,"vibration":0.2,"people":true}',
};
const payloads = new Map(facilityTypes.map((t) => [t, Buffer.from(samples[t])]));
const decoder = createDecoder({ maxPayloadBytes: 65536, maxBatchReadings: 2000 });
const evaluator = createEvaluator(defaultRulePack);
const devices = city.devices;

function run(n: number): number {
  let readings = 0;
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const d = devices[i % devices.length]!;
    const decoded = decoder.decode(d.type, payloads.get(d.type)!, now + i);
    readings += decoded.readings.length;
    evaluator.evaluate(d.id, d.type, decoded.readings);
  }
  return readings;
}

run(50_000); // warm up the JIT and the per-device state
const t0 = performance.now();
const readings = run(total);
const seconds = (performance.now() - t0) / 1000;
const perS = Math.round(total / seconds);
console.log(`messages: ${total}, readings: ${readings}, seconds: ${seconds.toFixed(2)}`);
console.log(`decode + validate + evaluate: ${perS.toLocaleString('en')} msgs/s on one core`);
console.log(JSON.stringify({ hot_path_msgs_per_s: perS, messages: total, node: process.version }));
