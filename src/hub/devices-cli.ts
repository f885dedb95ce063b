import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';

/**
 * `npm run devices -- --list`: the demo devices and their secrets, read from
 * the credentials file the hub wrote on first start (the database holds
 * only hashes), with a ready-to-paste mosquitto_pub line.
 */
const program = new Command('devices')
  .description('List the demo devices and their MQTT credentials')
  .option('--list', 'list devices (default)')
  .option('--type <type>', 'only this facility type, e.g. dust_noise')
  .option('--limit <n>', 'at most this many', '20')
  .option(
    '--file <path>',
    'credentials file',
    path.join(process.env.DATA_DIR ?? './data', 'demo-devices.csv'),
  )
  .parse();

const opts = program.opts<{ type?: string; limit: string; file: string }>();
let text: string;
try {
  text = await readFile(opts.file, 'utf8');
} catch {
  console.error(
    `No credentials file at ${opts.file}: run \`npm start\` once to create the demo city.`,
  );
  process.exit(1);
}
const [, ...lines] = text.trim().split('\n');
const rows = lines
  .map((l) => l.split(','))
  .filter((f) => !opts.type || f[1] === opts.type)
  .slice(0, Number(opts.limit));
console.log('id\ttype\tgrid\tsecret');
for (const f of rows) console.log(`${f[0]}\t${f[1]}\t${f[2]}\t${f[6]}`);
const first = rows[0];
if (first) {
  const host = process.env.MQTT_HOST ?? '127.0.0.1';
  const port = process.env.MQTT_PORT ?? '1883';
  console.log(
    `\nTry:\n  mosquitto_pub -h ${host} -p ${port} -u ${first[0]} -P '${first[6]}' -t devices/${first[0]}/telemetry -m '<json>'`,
  );
}
