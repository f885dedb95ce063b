import { envSchema } from 'env-schema';
import {
  defaultHashConcurrency,
  parseAllowedOrigins,
  parseTrustProxy,
  type CookieSecure,
  type TrustProxy,
} from '../dashboard/index.js';
import { HubError, timeZoneProblem, workingPeriodsProblem } from '../domain/index.js';

/**
 * Configuration: read from the environment once, validated, every bad
 * variable named in one error (style.md, lesson 8). Documented in README.md.
 */
const schema = {
  type: 'object',
  properties: {
    DATABASE_URL: { type: 'string', default: '' },
    DATABASE_POOL_MAX: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
    DATA_DIR: { type: 'string', minLength: 1, default: './data' },
    EMBEDDED_PG_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 54329 },
    MQTT_HOST: { type: 'string', minLength: 1, default: '127.0.0.1' },
    MQTT_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 1883 },
    HTTP_HOST: { type: 'string', minLength: 1, default: '127.0.0.1' },
    HTTP_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
    // The city map's raster tiles (intranet, 天地图): none by default (docs/ui.md, "Map tiles").
    MAP_TILE_URL: { type: 'string', default: '', pattern: '^(|https?://.*|/.*)$' },
    MAP_TILE_ATTRIBUTION: { type: 'string', default: '', maxLength: 200 },
    LOG_LEVEL: {
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
    DEMO_CITY: { type: 'boolean', default: true },
    DEMO_DEVICE_COUNT: { type: 'integer', minimum: 7, maximum: 200000, default: 1000 },
    INGEST_BATCH_MAX_ROWS: { type: 'integer', minimum: 1, maximum: 100000, default: 2000 },
    INGEST_FLUSH_INTERVAL_MS: { type: 'integer', minimum: 1, maximum: 60000, default: 25 },
    INGEST_MAX_PAYLOAD_BYTES: { type: 'integer', minimum: 64, maximum: 268435455, default: 65536 },
    STORAGE_COMPRESS_AFTER_DAYS: { type: 'integer', minimum: 1, maximum: 3650, default: 7 },
    STORAGE_RETENTION_DAYS: { type: 'integer', minimum: 0, maximum: 36500, default: 0 },
    SESSION_TTL_HOURS: { type: 'integer', minimum: 1, maximum: 720, default: 12 },
    LOGIN_MAX_FAILURES_PER_ADDRESS: { type: 'integer', minimum: 1, maximum: 1000000, default: 30 },
    LOGIN_HASH_QUEUE_MAX: { type: 'integer', minimum: 0, maximum: 100000, default: 32 },
    // 0: half the cores, at least one (dashboard/login-guard.ts).
    LOGIN_HASH_CONCURRENCY: { type: 'integer', minimum: 0, maximum: 64, default: 0 },
    // Nice value of the password-hashing threads (decision 0212); 0 = normal priority, opt-in.
    LOGIN_HASH_NICE: { type: 'integer', minimum: 0, maximum: 19, default: 0 },
    // While devices connect at this rate or more, logins yield to them (decision 0213); 0 = never.
    LOGIN_STORM_CONNECTS_PER_S: { type: 'integer', minimum: 0, maximum: 1000000, default: 100 },
    LOGIN_HASH_STORM_SHARE: { type: 'number', minimum: 0.01, maximum: 1, default: 0.1 },
    CASE_TICK_INTERVAL_MS: { type: 'integer', minimum: 100, maximum: 3600000, default: 30000 },
    REPORT_CHECK_INTERVAL_MS: { type: 'integer', minimum: 100, maximum: 86400000, default: 300000 },
    CASE_FEED_POLL_MS: { type: 'integer', minimum: 10, maximum: 600000, default: 1000 },
    // Grid officers and citizens (issue #16; docs/api.md, docs/cases.md).
    CASE_VERIFY_BY: { type: 'string', enum: ['inspector', 'control_room'], default: 'inspector' },
    CASE_VERIFY_MINUTES: { type: 'integer', minimum: 1, maximum: 100000, default: 60 },
    REPORT_ACCEPT_MINUTES: { type: 'integer', minimum: 1, maximum: 100000, default: 60 },
    REPORT_DUPLICATE_METERS: { type: 'integer', minimum: 0, maximum: 100000, default: 50 },
    REPORT_DUPLICATE_HOURS: { type: 'integer', minimum: 0, maximum: 8760, default: 24 },
    PATROL_GAP_SECONDS: { type: 'integer', minimum: 5, maximum: 86400, default: 120 },
    PUBLIC_REPORTS_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 100000, default: 10 },
    HUB_ROLE: { type: 'string', enum: ['all', 'broker', 'worker', 'api'], default: 'all' },
    WEBHOOK_MAX_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 20, default: 5 },
    WEBHOOK_BACKOFF_MS: { type: 'integer', minimum: 1, maximum: 3600000, default: 2000 },
    // Off: webhooks only to public addresses (SSRF, issue #11, decision 0131).
    WEBHOOK_ALLOW_PRIVATE_TARGETS: { type: 'boolean', default: false },
    // Cases in the city's time: codes, months, working-time deadlines (docs/cases.md).
    CITY_TIMEZONE: { type: 'string', minLength: 1, default: 'Asia/Shanghai' },
    WORKING_HOURS: {
      type: 'string',
      pattern: '^\\d\\d:\\d\\d-\\d\\d:\\d\\d(,\\d\\d:\\d\\d-\\d\\d:\\d\\d)*$',
      default: '08:30-12:00,13:30-17:30',
    },
    // Device gateway (#6): docs/mqtt.md and docs/gateway.md.
    MQTT_TCP_ENABLED: { type: 'boolean', default: true },
    MQTT_TLS_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 0 },
    MQTT_TLS_CERT_FILE: { type: 'string', default: '' },
    MQTT_TLS_KEY_FILE: { type: 'string', default: '' },
    MQTT_WS_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 0 },
    MQTT_PERSISTENCE: { type: 'string', enum: ['level', 'memory'], default: 'level' },
    MQTT_MAX_CONNECTIONS: { type: 'integer', minimum: 1, maximum: 10000000, default: 120000 },
    MQTT_RATE_PER_S: { type: 'number', exclusiveMinimum: 0, maximum: 100000, default: 10 },
    MQTT_RATE_BURST: { type: 'integer', minimum: 1, maximum: 1000000, default: 100 },
    MQTT_RATE_HOLD_MAX_S: { type: 'integer', minimum: 1, maximum: 86400, default: 600 },
    MQTT_SERVICE_PASSWORD: { type: 'string', default: '' },
    // Grafana's read-only database role (issue #14, grafana/provisioning).
    GRAFANA_DB_PASSWORD: { type: 'string', default: '' },
    REDIS_URL: { type: 'string', default: '' },
    REDIS_KEY_PREFIX: { type: 'string', minLength: 1, default: 'hub:' },
    COMMAND_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 86400000, default: 30000 },
    STATUS_FLUSH_INTERVAL_MS: { type: 'integer', minimum: 10, maximum: 600000, default: 1000 },
    // Sessions and cookies behind a reverse proxy (decision 0109; README "Behind nginx").
    SESSION_SWEEP_INTERVAL_MS: {
      type: 'integer',
      minimum: 100,
      maximum: 86400000,
      default: 60000,
    },
    COOKIE_SECURE: { type: 'string', enum: ['auto', 'true', 'false'], default: 'auto' },
    TRUST_PROXY: { type: 'string', default: '' },
    HTTP_ALLOWED_ORIGINS: { type: 'string', default: '' },
  },
} as const;

export const hubRoles = ['all', 'broker', 'worker', 'api'] as const;
/**
 * `broker`: MQTT listeners, ingest and the per-device rules of the devices it
 * serves; `worker`: the exactly-once duties when it leads (fleet-wide rules,
 * case ticks, storage maintenance, webhooks); `api`: REST and socket.io;
 * `all`: everything in one process.
 */
export type HubRole = (typeof hubRoles)[number];

export interface HubConfig {
  /** Empty: start the embedded PostgreSQL under dataDir. */
  readonly databaseUrl: string;
  readonly databasePoolMax: number;
  readonly dataDir: string;
  readonly embeddedPgPort: number;
  readonly mqttHost: string;
  readonly mqttPort: number;
  readonly httpHost: string;
  readonly httpPort: number;
  /** Raster tile URL template of the city map, '' for none (stored positions are WGS-84). */
  readonly mapTileUrl: string;
  readonly mapTileAttribution: string;
  readonly logLevel: string;
  readonly demoCity: boolean;
  readonly demoDeviceCount: number;
  readonly ingestBatchMaxRows: number;
  readonly ingestFlushIntervalMs: number;
  readonly ingestMaxPayloadBytes: number;
  readonly storageCompressAfterDays: number;
  readonly storageRetentionDays: number;
  readonly sessionTtlHours: number;
  /** Failed logins from one client address in 15 minutes before it gets 429 (#17). */
  readonly loginMaxFailuresPerAddress: number;
  /** Logins waiting for one of the two password-hash slots before 503 (#17). */
  readonly loginHashQueueMax: number;
  /** scrypt runs at once; 0 in the environment: half the cores. */
  readonly loginHashConcurrency: number;
  /** Nice value of the password-hashing threads (0 normal priority, 19 lowest). */
  readonly loginHashNice: number;
  /** Device CONNECTs a second that make logins yield (decision 0213); 0: never. */
  readonly loginStormConnectsPerS: number;
  /** Share of a hashing thread's time while devices storm. */
  readonly loginHashStormShare: number;
  readonly caseTickIntervalMs: number;
  /** How often the leader looks for a closed period without its report (issue #15). */
  readonly reportCheckIntervalMs: number;
  /** How often each node reads new case events when no NOTIFY woke it. */
  readonly caseFeedPollMs: number;
  /** Grid officers and citizens (issue #16): the dashboard's GridSettings. */
  readonly grid: {
    readonly verifyBy: 'inspector' | 'control_room';
    readonly verifyMinutes: number;
    readonly acceptMinutes: number;
    readonly duplicateMeters: number;
    readonly duplicateHours: number;
    readonly patrolGapSeconds: number;
    readonly publicReportsPerMinute: number;
  };
  /** What this process runs (docs/deploy.md); `--role` on the command line wins. */
  readonly role: HubRole;
  readonly webhookMaxAttempts: number;
  readonly webhookBackoffMs: number;
  /** Webhooks may target loopback, private and link-local addresses (off by default). */
  readonly webhookAllowPrivateTargets: boolean;
  /** IANA time zone of the city. */
  readonly cityTimezone: string;
  /** Working periods of a working day, local time, e.g. 08:30-12:00,13:30-17:30. */
  readonly workingHours: string;
  readonly mqttTcpEnabled: boolean;
  /** 0: TLS listener off. */
  readonly mqttTlsPort: number;
  readonly mqttTlsCertFile: string;
  readonly mqttTlsKeyFile: string;
  /** 0: WebSocket listener off. */
  readonly mqttWsPort: number;
  readonly mqttPersistence: 'level' | 'memory';
  readonly mqttMaxConnections: number;
  readonly mqttRatePerS: number;
  readonly mqttRateBurst: number;
  /** A device held over its rate without a break for longer is cut off (issue 17). */
  readonly mqttRateHoldMaxS: number;
  /** Empty: no service account. */
  readonly mqttServicePassword: string;
  /** Password of the read-only role hub_grafana; empty = leave the role as it is. */
  readonly grafanaDbPassword: string;
  /** Empty: one node, no Redis. */
  readonly redisUrl: string;
  readonly redisKeyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly statusFlushIntervalMs: number;
  readonly sessionSweepIntervalMs: number;
  readonly cookieSecure: CookieSecure;
  readonly trustProxy: TrustProxy;
  /** Other origins whose pages may open socket.io (the hub's own always may). */
  readonly httpAllowedOrigins: readonly string[];
}

type Env = Record<string, string | undefined>;

interface RawConfig {
  DATABASE_URL: string;
  DATABASE_POOL_MAX: number;
  DATA_DIR: string;
  EMBEDDED_PG_PORT: number;
  MQTT_HOST: string;
  MQTT_PORT: number;
  HTTP_HOST: string;
  HTTP_PORT: number;
  MAP_TILE_URL: string;
  MAP_TILE_ATTRIBUTION: string;
  LOG_LEVEL: string;
  DEMO_CITY: boolean;
  DEMO_DEVICE_COUNT: number;
  INGEST_BATCH_MAX_ROWS: number;
  INGEST_FLUSH_INTERVAL_MS: number;
  INGEST_MAX_PAYLOAD_BYTES: number;
  STORAGE_COMPRESS_AFTER_DAYS: number;
  STORAGE_RETENTION_DAYS: number;
  SESSION_TTL_HOURS: number;
  LOGIN_MAX_FAILURES_PER_ADDRESS: number;
  LOGIN_HASH_QUEUE_MAX: number;
  LOGIN_HASH_CONCURRENCY: number;
  LOGIN_HASH_NICE: number;
  LOGIN_STORM_CONNECTS_PER_S: number;
  LOGIN_HASH_STORM_SHARE: number;
  CASE_TICK_INTERVAL_MS: number;
  REPORT_CHECK_INTERVAL_MS: number;
  CASE_FEED_POLL_MS: number;
  CASE_VERIFY_BY: 'inspector' | 'control_room';
  CASE_VERIFY_MINUTES: number;
  REPORT_ACCEPT_MINUTES: number;
  REPORT_DUPLICATE_METERS: number;
  REPORT_DUPLICATE_HOURS: number;
  PATROL_GAP_SECONDS: number;
  PUBLIC_REPORTS_PER_MINUTE: number;
  HUB_ROLE: HubRole;
  WEBHOOK_MAX_ATTEMPTS: number;
  WEBHOOK_BACKOFF_MS: number;
  WEBHOOK_ALLOW_PRIVATE_TARGETS: boolean;
  CITY_TIMEZONE: string;
  WORKING_HOURS: string;
  MQTT_TCP_ENABLED: boolean;
  MQTT_TLS_PORT: number;
  MQTT_TLS_CERT_FILE: string;
  MQTT_TLS_KEY_FILE: string;
  MQTT_WS_PORT: number;
  MQTT_PERSISTENCE: 'level' | 'memory';
  MQTT_MAX_CONNECTIONS: number;
  MQTT_RATE_PER_S: number;
  MQTT_RATE_BURST: number;
  MQTT_RATE_HOLD_MAX_S: number;
  MQTT_SERVICE_PASSWORD: string;
  GRAFANA_DB_PASSWORD: string;
  REDIS_URL: string;
  REDIS_KEY_PREFIX: string;
  COMMAND_TIMEOUT_MS: number;
  STATUS_FLUSH_INTERVAL_MS: number;
  SESSION_SWEEP_INTERVAL_MS: number;
  COOKIE_SECURE: CookieSecure;
  TRUST_PROXY: string;
  HTTP_ALLOWED_ORIGINS: string;
}

export const configVariables = Object.keys(schema.properties);

/** A variable's value through its parser; a parser's complaint becomes HUB_ERR_CONFIG naming it. */
function parseVariable<T>(name: string, value: string, parse: (value: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new HubError('HUB_ERR_CONFIG', `\n  ${name} ${why} (got ${JSON.stringify(value)})`);
  }
}

export function loadConfig(env: Env = process.env): HubConfig {
  const data: Env = {};
  for (const name of configVariables) if (env[name] !== undefined) data[name] = env[name];
  let raw: RawConfig;
  try {
    raw = envSchema<RawConfig>({ schema, data, dotenv: false, ajv: { customOptions: (a) => a } });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // env-schema joins ajv's messages with commas; one line per variable reads better.
    const lines = message
      .replace(/^env must NOT have fewer than \d+ properties/, '')
      .split(/,\s*(?=env\/)/)
      .map((l) => l.replace(/^env\//, '').trim())
      .filter(Boolean)
      .map((l) => {
        const name = l.split(' ')[0] ?? '';
        return `  ${l} (got ${JSON.stringify(env[name] ?? null)})`;
      });
    throw new HubError('HUB_ERR_CONFIG', `\n${lines.join('\n')}`);
  }
  const calendarProblem =
    timeZoneProblem(raw.CITY_TIMEZONE) ?? workingPeriodsProblem(raw.WORKING_HOURS);
  if (calendarProblem) throw new HubError('HUB_ERR_CONFIG', `\n  ${calendarProblem}`);
  const trustProxy = parseVariable('TRUST_PROXY', raw.TRUST_PROXY, parseTrustProxy);
  const httpAllowedOrigins = parseVariable(
    'HTTP_ALLOWED_ORIGINS',
    raw.HTTP_ALLOWED_ORIGINS,
    parseAllowedOrigins,
  );
  return {
    databaseUrl: raw.DATABASE_URL,
    databasePoolMax: raw.DATABASE_POOL_MAX,
    dataDir: raw.DATA_DIR,
    embeddedPgPort: raw.EMBEDDED_PG_PORT,
    mqttHost: raw.MQTT_HOST,
    mqttPort: raw.MQTT_PORT,
    httpHost: raw.HTTP_HOST,
    httpPort: raw.HTTP_PORT,
    mapTileUrl: raw.MAP_TILE_URL,
    mapTileAttribution: raw.MAP_TILE_ATTRIBUTION,
    logLevel: raw.LOG_LEVEL,
    demoCity: raw.DEMO_CITY,
    demoDeviceCount: raw.DEMO_DEVICE_COUNT,
    ingestBatchMaxRows: raw.INGEST_BATCH_MAX_ROWS,
    ingestFlushIntervalMs: raw.INGEST_FLUSH_INTERVAL_MS,
    ingestMaxPayloadBytes: raw.INGEST_MAX_PAYLOAD_BYTES,
    storageCompressAfterDays: raw.STORAGE_COMPRESS_AFTER_DAYS,
    storageRetentionDays: raw.STORAGE_RETENTION_DAYS,
    sessionTtlHours: raw.SESSION_TTL_HOURS,
    loginMaxFailuresPerAddress: raw.LOGIN_MAX_FAILURES_PER_ADDRESS,
    loginHashQueueMax: raw.LOGIN_HASH_QUEUE_MAX,
    loginHashConcurrency: raw.LOGIN_HASH_CONCURRENCY || defaultHashConcurrency,
    loginHashNice: raw.LOGIN_HASH_NICE,
    loginStormConnectsPerS: raw.LOGIN_STORM_CONNECTS_PER_S,
    loginHashStormShare: raw.LOGIN_HASH_STORM_SHARE,
    caseTickIntervalMs: raw.CASE_TICK_INTERVAL_MS,
    reportCheckIntervalMs: raw.REPORT_CHECK_INTERVAL_MS,
    caseFeedPollMs: raw.CASE_FEED_POLL_MS,
    grid: {
      verifyBy: raw.CASE_VERIFY_BY,
      verifyMinutes: raw.CASE_VERIFY_MINUTES,
      acceptMinutes: raw.REPORT_ACCEPT_MINUTES,
      duplicateMeters: raw.REPORT_DUPLICATE_METERS,
      duplicateHours: raw.REPORT_DUPLICATE_HOURS,
      patrolGapSeconds: raw.PATROL_GAP_SECONDS,
      publicReportsPerMinute: raw.PUBLIC_REPORTS_PER_MINUTE,
    },
    role: raw.HUB_ROLE,
    webhookMaxAttempts: raw.WEBHOOK_MAX_ATTEMPTS,
    webhookBackoffMs: raw.WEBHOOK_BACKOFF_MS,
    webhookAllowPrivateTargets: raw.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    cityTimezone: raw.CITY_TIMEZONE,
    workingHours: raw.WORKING_HOURS,
    mqttTcpEnabled: raw.MQTT_TCP_ENABLED,
    mqttTlsPort: raw.MQTT_TLS_PORT,
    mqttTlsCertFile: raw.MQTT_TLS_CERT_FILE,
    mqttTlsKeyFile: raw.MQTT_TLS_KEY_FILE,
    mqttWsPort: raw.MQTT_WS_PORT,
    mqttPersistence: raw.MQTT_PERSISTENCE,
    mqttMaxConnections: raw.MQTT_MAX_CONNECTIONS,
    mqttRatePerS: raw.MQTT_RATE_PER_S,
    mqttRateBurst: raw.MQTT_RATE_BURST,
    mqttRateHoldMaxS: raw.MQTT_RATE_HOLD_MAX_S,
    mqttServicePassword: raw.MQTT_SERVICE_PASSWORD,
    grafanaDbPassword: raw.GRAFANA_DB_PASSWORD,
    redisUrl: raw.REDIS_URL,
    redisKeyPrefix: raw.REDIS_KEY_PREFIX,
    commandTimeoutMs: raw.COMMAND_TIMEOUT_MS,
    statusFlushIntervalMs: raw.STATUS_FLUSH_INTERVAL_MS,
    sessionSweepIntervalMs: raw.SESSION_SWEEP_INTERVAL_MS,
    cookieSecure: raw.COOKIE_SECURE,
    trustProxy,
    httpAllowedOrigins,
  };
}
