import { envSchema } from 'env-schema';
import { HubError } from '../domain/index.js';

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
    LOG_LEVEL: {
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
    DEMO_CITY: { type: 'boolean', default: true },
    DEMO_DEVICE_COUNT: { type: 'integer', minimum: 7, maximum: 200000, default: 1000 },
    INGEST_BATCH_MAX_ROWS: { type: 'integer', minimum: 1, maximum: 100000, default: 2000 },
    INGEST_FLUSH_INTERVAL_MS: { type: 'integer', minimum: 1, maximum: 60000, default: 100 },
    INGEST_MAX_PAYLOAD_BYTES: { type: 'integer', minimum: 64, maximum: 268435455, default: 65536 },
    STORAGE_COMPRESS_AFTER_DAYS: { type: 'integer', minimum: 1, maximum: 3650, default: 7 },
    STORAGE_RETENTION_DAYS: { type: 'integer', minimum: 0, maximum: 36500, default: 0 },
    SESSION_TTL_HOURS: { type: 'integer', minimum: 1, maximum: 720, default: 12 },
    CASE_TICK_INTERVAL_MS: { type: 'integer', minimum: 100, maximum: 3600000, default: 30000 },
    WEBHOOK_MAX_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 20, default: 5 },
    WEBHOOK_BACKOFF_MS: { type: 'integer', minimum: 1, maximum: 3600000, default: 2000 },
  },
} as const;

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
  readonly logLevel: string;
  readonly demoCity: boolean;
  readonly demoDeviceCount: number;
  readonly ingestBatchMaxRows: number;
  readonly ingestFlushIntervalMs: number;
  readonly ingestMaxPayloadBytes: number;
  readonly storageCompressAfterDays: number;
  readonly storageRetentionDays: number;
  readonly sessionTtlHours: number;
  readonly caseTickIntervalMs: number;
  readonly webhookMaxAttempts: number;
  readonly webhookBackoffMs: number;
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
  LOG_LEVEL: string;
  DEMO_CITY: boolean;
  DEMO_DEVICE_COUNT: number;
  INGEST_BATCH_MAX_ROWS: number;
  INGEST_FLUSH_INTERVAL_MS: number;
  INGEST_MAX_PAYLOAD_BYTES: number;
  STORAGE_COMPRESS_AFTER_DAYS: number;
  STORAGE_RETENTION_DAYS: number;
  SESSION_TTL_HOURS: number;
  CASE_TICK_INTERVAL_MS: number;
  WEBHOOK_MAX_ATTEMPTS: number;
  WEBHOOK_BACKOFF_MS: number;
}

export const configVariables = Object.keys(schema.properties);

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
  return {
    databaseUrl: raw.DATABASE_URL,
    databasePoolMax: raw.DATABASE_POOL_MAX,
    dataDir: raw.DATA_DIR,
    embeddedPgPort: raw.EMBEDDED_PG_PORT,
    mqttHost: raw.MQTT_HOST,
    mqttPort: raw.MQTT_PORT,
    httpHost: raw.HTTP_HOST,
    httpPort: raw.HTTP_PORT,
    logLevel: raw.LOG_LEVEL,
    demoCity: raw.DEMO_CITY,
    demoDeviceCount: raw.DEMO_DEVICE_COUNT,
    ingestBatchMaxRows: raw.INGEST_BATCH_MAX_ROWS,
    ingestFlushIntervalMs: raw.INGEST_FLUSH_INTERVAL_MS,
    ingestMaxPayloadBytes: raw.INGEST_MAX_PAYLOAD_BYTES,
    storageCompressAfterDays: raw.STORAGE_COMPRESS_AFTER_DAYS,
    storageRetentionDays: raw.STORAGE_RETENTION_DAYS,
    sessionTtlHours: raw.SESSION_TTL_HOURS,
    caseTickIntervalMs: raw.CASE_TICK_INTERVAL_MS,
    webhookMaxAttempts: raw.WEBHOOK_MAX_ATTEMPTS,
    webhookBackoffMs: raw.WEBHOOK_BACKOFF_MS,
  };
}
