import { Command, Option } from 'commander';
import { isHubError } from '../domain/index.js';
import { hubRoles, loadConfig, type HubRole } from './config.js';
import { startNode } from './hub.js';

/**
 * `npm start`: read config, start the parts of this process's role (every
 * room by default; `--role broker|worker|api` or HUB_ROLE in a cluster, see
 * docs/deploy.md), stop cleanly on a signal.
 */
async function main(): Promise<void> {
  const cli = new Command()
    .name('hub')
    .addOption(
      new Option('--role <role>', 'what this process runs (default: HUB_ROLE, else all)').choices(
        hubRoles,
      ),
    )
    .parse(process.argv)
    .opts<{ role?: HubRole }>();
  const fromEnv = loadConfig();
  const config = cli.role ? { ...fromEnv, role: cli.role } : fromEnv;
  // Ctrl-C reaches this process only; it drains, then stops the database (issue 17).
  const hub = await startNode(config, { detachEmbeddedDatabase: true });
  const { mqttHost, httpHost } = config;
  if (config.role !== 'all') {
    console.log(
      `\n  Urban Facility Hub, role ${config.role}, node ${hub.nodeId}` +
        (hub.mqttPort ? `: MQTT mqtt://${mqttHost}:${hub.mqttPort}` : '') +
        `; HTTP http://${httpHost}:${hub.httpPort}/${hub.dashboard ? '' : 'api/health'}\n`,
    );
  } else {
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
  }

  let stoppingSince = 0;
  const shutdown = (signal: string) => {
    if (stoppingSince) {
      // A terminal's Ctrl-C reaches npm and the hub, and npm forwards it once more:
      // only a second signal a moment later is someone asking to exit at once.
      if (Date.now() - stoppingSince < 1000) return;
      hub.logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stoppingSince = Date.now();
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
