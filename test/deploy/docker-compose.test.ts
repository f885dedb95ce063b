import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configVariables, loadConfig } from '../../src/hub/config.js';

// Docker has no engine on the test machines: parsing the files is the validation.

interface ComposeService {
  profiles?: string[];
  healthcheck?: { test?: string[] };
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target?: number; published?: string | number; host_ip?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: (string | { type?: string; source?: string; target?: string })[];
}

interface Compose {
  services: Record<string, ComposeService>;
}

const readRepoFile = (name: string) =>
  readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8');

const compose = parse(readRepoFile('docker-compose.yml')) as Compose;
const dockerfile = readRepoFile('Dockerfile');

/** The hub's documented configuration variables (src/hub/config.ts). */
const hubVariables = [
  'DATABASE_URL',
  'DATABASE_POOL_MAX',
  'MQTT_HOST',
  'MQTT_PORT',
  'HTTP_HOST',
  'HTTP_PORT',
  'DATA_DIR',
  'LOG_LEVEL',
  'DEMO_CITY',
  'DEMO_DEVICE_COUNT',
  'EMBEDDED_PG_PORT',
  'INGEST_BATCH_MAX_ROWS',
  'INGEST_FLUSH_INTERVAL_MS',
  'INGEST_MAX_PAYLOAD_BYTES',
  'MQTT_SERVICE_PASSWORD',
  'GRAFANA_DB_PASSWORD',
];

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf('=');
        return eq === -1 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
}

/** The host address a published port binds to; '' when it binds every interface. */
function hostIpOf(port: NonNullable<ComposeService['ports']>[number]): string {
  if (typeof port === 'object') return port.host_ip ?? '';
  const parts = String(port).split(':');
  return parts.length === 3 ? parts[0]! : '';
}

/** The container port of a published port. */
function containerPortOf(port: NonNullable<ComposeService['ports']>[number]): number {
  if (typeof port === 'object') return Number(port.target);
  return Number(String(port).split(':').at(-1)!.split('/')[0]);
}

/** Instructions of the Dockerfile's last stage (the image that runs). */
function runtimeStage(text: string): { instruction: string; args: string }[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [instruction, ...rest] = line.split(/\s+/);
      return { instruction: instruction!.toUpperCase(), args: rest.join(' ') };
    });
  const lastFrom = lines.map((l) => l.instruction).lastIndexOf('FROM');
  return lines.slice(lastFrom);
}

describe('docker-compose.yml', () => {
  it('defines a timescaledb service and a hub service', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['timescaledb', 'hub']));
  });

  it('runs the database from an official timescale/timescaledb image', () => {
    expect(compose.services.timescaledb!.image).toMatch(/^timescale\/timescaledb:/);
  });

  it('builds the hub from the Dockerfile at the repository root', () => {
    const build = compose.services.hub!.build;
    expect(build).toBeDefined();
    const context = typeof build === 'string' ? build : (build?.context ?? '.');
    const dockerfileName =
      typeof build === 'string' ? 'Dockerfile' : (build?.dockerfile ?? 'Dockerfile');
    expect(context).toBe('.');
    expect(dockerfileName).toBe('Dockerfile');
  });

  it('starts the hub only once the database is healthy', () => {
    expect(compose.services.hub!.depends_on).toMatchObject({
      timescaledb: { condition: 'service_healthy' },
    });
  });

  it('points the hub at the database on host timescaledb', () => {
    const url = new URL(environmentOf(compose.services.hub!).DATABASE_URL ?? '');
    expect(url.protocol).toMatch(/^postgres(ql)?:$/);
    expect(url.hostname).toBe('timescaledb');
  });

  it('gives the hub only variables the hub documents', () => {
    const names = Object.keys(environmentOf(compose.services.hub!));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(hubVariables).toContain(name);
  });

  it('publishes every port on the host loopback only', () => {
    const ports = Object.values(compose.services).flatMap((service) => service.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(hostIpOf(port)).toBe('127.0.0.1');
  });

  it('does not publish the database port', () => {
    expect(compose.services.timescaledb!.ports ?? []).toEqual([]);
    const published = Object.values(compose.services).flatMap((service) =>
      (service.ports ?? []).map(containerPortOf),
    );
    expect(published).not.toContain(5432);
  });
});

describe('docker-compose.yml, cluster profile', () => {
  // `<<` merge keys (the shared cluster environment) need the YAML 1.1 merge option.
  const merged = parse(readRepoFile('docker-compose.yml'), { merge: true }) as Compose;
  const roleServices = ['worker', 'broker', 'api'] as const;

  it('puts Redis and one service per role in the cluster profile, outside the default start', () => {
    for (const name of ['redis', ...roleServices]) {
      expect(merged.services[name]?.profiles).toEqual(['cluster']);
    }
    expect(merged.services.hub!.profiles).toBeUndefined();
  });

  it('gives each role service its role, the shared database and Redis, and only documented variables', () => {
    for (const role of roleServices) {
      const env = environmentOf(merged.services[role]!);
      expect(env.HUB_ROLE).toBe(role);
      expect(new URL(env.DATABASE_URL ?? '').hostname).toBe('timescaledb');
      expect(new URL(env.REDIS_URL ?? '').hostname).toBe('redis');
      for (const name of Object.keys(env)) expect(configVariables).toContain(name);
      expect(() => loadConfig(env)).not.toThrow();
    }
  });

  it('starts broker and API processes once the worker (which prepares the database) is healthy', () => {
    expect(merged.services.worker!.depends_on).toMatchObject({
      timescaledb: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    for (const role of ['broker', 'api']) {
      expect(merged.services[role]!.depends_on).toMatchObject({
        worker: { condition: 'service_healthy' },
      });
      expect(merged.services[role]!.healthcheck?.test?.join(' ')).toContain('/api/health');
    }
  });

  it('publishes MQTT on the broker and HTTP on the API process only', () => {
    expect((merged.services.broker!.ports ?? []).map(containerPortOf)).toEqual([1883]);
    expect((merged.services.api!.ports ?? []).map(containerPortOf)).toEqual([8080]);
    expect(merged.services.worker!.ports ?? []).toEqual([]);
    expect(merged.services.redis!.ports ?? []).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const stage = runtimeStage(dockerfile);

  it('builds on node:20-bookworm-slim in every stage', () => {
    const froms = dockerfile.match(/^FROM\s+\S+/gim) ?? [];
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/node:20-bookworm-slim$/);
  });

  it('runs dist/hub/main.js with node as its command', () => {
    const cmd = stage.filter((l) => l.instruction === 'CMD').at(-1);
    expect(cmd).toBeDefined();
    expect(JSON.parse(cmd!.args)).toEqual(['node', 'dist/hub/main.js']);
  });

  it('runs the command as a non-root user', () => {
    const userIndex = stage.map((l) => l.instruction).lastIndexOf('USER');
    const cmdIndex = stage.map((l) => l.instruction).lastIndexOf('CMD');
    expect(userIndex).toBeGreaterThan(-1);
    expect(userIndex).toBeLessThan(cmdIndex);
    const user = stage[userIndex]!.args.split(':')[0];
    expect(['root', '0']).not.toContain(user);
  });
});

/** A volume's host path and container path. */
function mountsOf(service: ComposeService): { source: string; target: string }[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source ?? '', target: v.target ?? '' };
    const [source = '', target = ''] = v.split(':');
    return { source, target };
  });
}

describe('docker-compose.yml, integrations (issue #14)', () => {
  const services = compose.services;
  const grafanaSources = parse(readRepoFile('grafana/provisioning/datasources/hub.yaml')) as {
    datasources: {
      uid: string;
      type: string;
      url: string;
      user?: string;
      jsonData?: { database?: string };
    }[];
  };
  const grafanaProviders = parse(readRepoFile('grafana/provisioning/dashboards/hub.yaml')) as {
    providers: { options: { path: string } }[];
  };
  const prometheus = parse(readRepoFile('prometheus/prometheus.yml')) as {
    scrape_configs: {
      job_name: string;
      metrics_path?: string;
      static_configs: { targets: string[] }[];
    }[];
  };

  it('starts Node-RED, Grafana and Prometheus with the hub, outside any profile', () => {
    for (const name of ['node-red', 'grafana', 'prometheus']) {
      expect(services[name], name).toBeDefined();
      expect(services[name]!.profiles, name).toBeUndefined();
    }
  });

  it('builds Node-RED 4.1 with the package installed like any node module, and its settings file', () => {
    const nodeRed = services['node-red']!;
    expect(nodeRed.build).toMatchObject({ context: '.', dockerfile: 'node-red/Dockerfile' });
    const dockerfile = readRepoFile('node-red/Dockerfile');
    expect(dockerfile).toMatch(/^FROM nodered\/node-red:4\.1-20$/m);
    expect(dockerfile).toMatch(/npm install --omit=dev --ignore-scripts \.\/hub-nodes/);
    const settings = /--settings (\S+)/.exec(environmentOf(nodeRed).NODE_RED_OPTIONS ?? '')?.[1];
    expect(settings).toBe('/usr/src/node-red/hub-settings.js');
    expect(dockerfile).toContain(`node-red/docker/settings.js ${settings}`);
    expect(environmentOf(nodeRed).NODE_RED_ADMIN_PASSWORD).toMatch(
      /^\$\{NODE_RED_ADMIN_PASSWORD:\?/,
    );
  });

  it('mounts Grafana provisioning and dashboards where the provider looks, read-only', () => {
    const mounts = mountsOf(services.grafana!);
    expect(mounts).toContainEqual({
      source: './grafana/provisioning',
      target: '/etc/grafana/provisioning',
    });
    const dashboards = mounts.find((m) => m.source === './grafana/dashboards');
    expect(dashboards?.target).toBe(grafanaProviders.providers[0]!.options.path);
    for (const v of services.grafana!.volumes ?? []) {
      if (typeof v === 'string' && v.startsWith('./')) expect(v).toMatch(/:ro$/);
    }
  });

  it('points Grafana at the hub database as the read-only role, with the password the hub sets', () => {
    const source = grafanaSources.datasources.find((d) => d.uid === 'ufh-timescaledb')!;
    const [host] = source.url.split(':');
    expect(services[host!]).toBeDefined();
    expect(source.user).toBe('hub_grafana');
    expect(source.jsonData?.database).toBe(environmentOf(services.timescaledb!).POSTGRES_DB);
    expect(environmentOf(services.grafana!).GRAFANA_DB_PASSWORD).toBe(
      environmentOf(services.hub!).GRAFANA_DB_PASSWORD,
    );
    const prom = grafanaSources.datasources.find((d) => d.uid === 'ufh-prometheus')!;
    expect(new URL(prom.url).hostname).toBe('prometheus');
  });

  it("scrapes the hub's /metrics on its HTTP port", () => {
    const job = prometheus.scrape_configs.find((j) => j.job_name === 'hub')!;
    expect(job.metrics_path).toBe('/metrics');
    const [host, port] = job.static_configs[0]!.targets[0]!.split(':');
    expect(services[host!]).toBeDefined();
    expect(port).toBe(environmentOf(services.hub!).HTTP_PORT);
    expect(mountsOf(services.prometheus!)).toContainEqual({
      source: './prometheus/prometheus.yml',
      target: '/etc/prometheus/prometheus.yml',
    });
  });

  it("gives Node-RED what the example flows read from the environment, from .env, and the examples' time zone", () => {
    const env = environmentOf(services['node-red']!);
    const dir = new URL('../../node-red/examples/', import.meta.url);
    const read = new Set<string>();
    for (const file of readdirSync(dir)) {
      for (const m of readFileSync(new URL(file, dir), 'utf8').matchAll(/env\.get\('([A-Z_]+)'\)/g))
        read.add(m[1]!);
    }
    // *_URL only points a flow at a stand-in robot (tests, a proxy).
    const needed = [...read].filter((name) => !name.endsWith('_URL'));
    expect(needed).toEqual(
      expect.arrayContaining(['DINGTALK_TOKEN', 'DINGTALK_SECRET', 'WECOM_KEY', 'PUMP_STATION_ID']),
    );
    for (const name of needed) expect(env[name], name).toMatch(new RegExp(`^\\$\\{${name}:-`));
    expect(env.TZ).toBe('Asia/Shanghai');
  });

  it('publishes the editors on the host loopback only', () => {
    for (const name of ['node-red', 'grafana', 'prometheus']) {
      const ports = services[name]!.ports ?? [];
      expect(ports.length, name).toBeGreaterThan(0);
      for (const port of ports) expect(hostIpOf(port), name).toBe('127.0.0.1');
    }
  });
});
