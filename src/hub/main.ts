import { isHubError } from '../domain/index.js';
import { loadConfig } from './config.js';
import { startHub } from './hub.js';

/** `npm start`: read config, start everything in one process, stop cleanly on a signal. */
async function main(): Promise<void> {
  const config = loadConfig();
  const hub = await startHub(config);
  const { mqttHost, httpHost } = config;
  console.log(
    [
      '',
      `  城市设施监测中枢 Urban Facility Hub is running`,
      `  Control room  http://${httpHost}:${hub.httpPort}/`,
      `  MQTT          mqtt://${mqttHost}:${hub.mqttPort}`,
      `  Database      ${hub.db.capabilities.kind}${hub.db.embedded ? ' (embedded, under ' + config.dataDir + ')' : ''}`,
      `  Devices       ${hub.directory.size}; demo credentials: ${hub.credentialsFile} (npm run devices -- --list)`,
      `  Login         admin / password in ${hub.adminPasswordFile}${hub.adminCreated ? ' (created now)' : ''}; API docs http://${httpHost}:${hub.httpPort}/docs`,
      '',
    ].join('\n'),
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      hub.logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    hub.logger.info({ signal }, 'stopping');
    hub.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  if (isHubError(err)) {
    console.error(`${err.code}: ${err.message}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
