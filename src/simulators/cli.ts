import { Command, InvalidArgumentError, Option } from 'commander';
import { readCredentials } from './credentials.js';
import { createFleet, type FleetStats } from './fleet.js';
import {
  getScenario,
  pickDevices,
  scenarioNames,
  scenarios,
  scenarioScripts,
  type ScenarioScript,
} from './scenarios.js';
import { planScript, playScriptOverMqtt } from './script-player.js';

/**
 * `npm run simulate -- --devices 200 --rate 50 --scenario dust-spike`, or a
 * scripted scenario: `npm run simulate -- --scenario rainstorm --speed 10`.
 * A thin wrapper: reads options and the credentials file, runs a fleet,
 * prints progress. Failures are one sentence and exit code 1, no stack trace:
 * the user is someone trying the hub, not debugging the simulator.
 */

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('Expected a whole number >= 1.');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Expected a number > 0.');
  return n;
}

// A scripted scenario wins over a fleet one of the same name (gas-leak).
const scriptNames = Object.keys(scenarioScripts);
const fleetNames = scenarioNames.filter((n) => !scriptNames.includes(n));
const scenarioList = [
  ...fleetNames.map((name) => `  ${name.padEnd(20)} ${scenarios[name].description}`),
  ...scriptNames.map(
    (name) =>
      `  ${name.padEnd(20)} [${scenarioScripts[name]!.durationMin} min script] ${scenarioScripts[name]!.description}`,
  ),
].join('\n');

const program = new Command('simulate')
  .description(
    'Play a fleet of city facility devices that publish telemetry over MQTT. 模拟城市设施设备通过 MQTT 上报数据。',
  )
  .option(
    '--devices <n>',
    'number of devices, the first N of the file (default: 50; scripts: all)',
    positiveInt,
  )
  .option(
    '--rate <r>',
    'telemetry messages per second across the fleet, spread over all devices',
    positiveNumber,
    10,
  )
  .option(
    '--max-device-rate <r>',
    "most messages per second one device may send: the hub's MQTT_RATE_PER_S",
    positiveNumber,
    10,
  )
  .addOption(
    new Option('--scenario <name>', 'scenario to play')
      .choices([...fleetNames, ...scriptNames])
      .default('normal'),
  )
  .option(
    '--speed <n>',
    'scripts: script minutes per real minute (1 = real time; power-cut plays at 1 only)',
    positiveNumber,
    1,
  )
  .option('--host <host>', 'MQTT broker host (env MQTT_HOST)', process.env.MQTT_HOST ?? '127.0.0.1')
  .option(
    '--port <port>',
    'MQTT broker port (env MQTT_PORT)',
    positiveInt,
    Number(process.env.MQTT_PORT ?? 1883),
  )
  .option(
    '--credentials <file>',
    'device credentials CSV written by the hub',
    `${process.env.DATA_DIR ?? './data'}/demo-devices.csv`,
  )
  .option('--duration <s>', 'stop after this many seconds', positiveNumber)
  .addOption(new Option('--qos <n>', 'MQTT QoS of telemetry').choices(['0', '1']).default('1'))
  .option('--list-scenarios', 'list the scenarios and exit')
  .addHelpText('after', `\nScenarios:\n${scenarioList}`);

interface CliOptions {
  devices?: number;
  speed: number;
  rate: number;
  maxDeviceRate: number;
  scenario: string;
  host: string;
  port: number;
  credentials: string;
  duration?: number;
  qos: '0' | '1';
  listScenarios?: boolean;
}

function progressLine(startMs: number, total: number, s: FleetStats): string {
  const seconds = Math.round((Date.now() - startMs) / 1000);
  return `[${seconds}s] connected ${s.connected}/${total}, published ${s.published}, acked ${s.acked}, failed ${s.failed}`;
}

async function main(): Promise<void> {
  const opts = program.parse().opts<CliOptions>();
  if (opts.listScenarios) {
    console.log(scenarioList);
    return;
  }
  const script = scenarioScripts[opts.scenario];
  if (script) return playScriptCli(opts, script);
  const scenario = getScenario(opts.scenario);
  const devices = pickDevices(
    await readCredentials(opts.credentials),
    opts.devices ?? 50,
    scenario,
  );
  const url = `mqtt://${opts.host}:${opts.port}`;
  const fleet = createFleet({
    url,
    devices,
    ratePerSecond: opts.rate,
    maxDeviceRatePerS: opts.maxDeviceRate,
    scenario,
    qos: opts.qos === '0' ? 0 : 1,
    durationS: opts.duration,
  });
  const target = scenario.targetType && devices.find((d) => d.type === scenario.targetType);
  console.log(
    `Simulating ${devices.length} devices at ${opts.rate} msg/s against ${url}, scenario ${scenario.name}` +
      (target ? ` on ${target.id} (${target.name})` : '') +
      '. Ctrl+C to stop.',
  );

  const onSignal = () => void fleet.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const startMs = Date.now();
  const progress = setInterval(
    () => console.log(progressLine(startMs, devices.length, fleet.stats())),
    5000,
  );
  try {
    await fleet.start();
    await fleet.stopped;
    console.log(`Stopped. ${progressLine(startMs, devices.length, fleet.stats())}`);
  } finally {
    clearInterval(progress);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function playScriptCli(opts: CliOptions, script: ScenarioScript): Promise<void> {
  const all = await readCredentials(opts.credentials);
  const devices = opts.devices ? all.slice(0, opts.devices) : all;
  const { targets, realMs } = planScript({ devices, script, speed: opts.speed });
  const url = `mqtt://${opts.host}:${opts.port}`;
  const shown = targets.slice(0, 5).map((d) => d.id);
  console.log(
    `Playing ${script.name} (${script.durationMin} min of script) at speed ${opts.speed}: ` +
      `${(realMs / 60_000).toFixed(1)} min against ${url}, acting on ${targets.length} device(s): ` +
      `${shown.join(', ')}${targets.length > shown.length ? ', …' : ''}. Ctrl+C to stop.`,
  );
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const r = await playScriptOverMqtt({
      url,
      devices,
      script,
      speed: opts.speed,
      qos: opts.qos === '0' ? 0 : 1,
      signal: abort.signal,
    });
    console.log(
      `${abort.signal.aborted ? 'Stopped' : 'Done'}. ${r.devices} devices, published ${r.published}, failed ${r.failed}.`,
    );
    if (r.failed > 0) process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
