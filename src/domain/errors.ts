/**
 * The error catalogue: one stable code per failure, reused by dead letters,
 * API errors and logs. Every code is documented in docs/errors.md (a test
 * checks it). Policy: bad device input is counted and dead-lettered, never
 * thrown; bad configuration fails at start; API 5xx hide internals.
 */
export const errorCatalog = {
  HUB_ERR_CONFIG: { status: 500, message: 'Invalid configuration' },
  HUB_ERR_PORT_IN_USE: { status: 500, message: 'A port the hub needs is already in use' },
  HUB_ERR_DB_UNAVAILABLE: { status: 503, message: 'The database is not reachable' },
  HUB_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'Payload is larger than the limit' },
  HUB_ERR_PAYLOAD_JSON: { status: 400, message: 'Payload is not valid JSON' },
  HUB_ERR_PAYLOAD_SHAPE: {
    status: 400,
    message: 'Payload must be a JSON object or an array of objects',
  },
  HUB_ERR_PAYLOAD_BATCH_TOO_LARGE: {
    status: 400,
    message: 'Batch has more readings than the limit',
  },
  HUB_ERR_PAYLOAD_UNKNOWN_METRIC: {
    status: 400,
    message: 'Reading has a metric its facility type does not define',
  },
  HUB_ERR_PAYLOAD_TYPE: { status: 400, message: 'Metric has the wrong type' },
  HUB_ERR_PAYLOAD_RANGE: { status: 400, message: 'Metric is outside its physical range' },
  HUB_ERR_PAYLOAD_TIMESTAMP: {
    status: 400,
    message: 'Reading timestamp is malformed or in the future',
  },
  HUB_ERR_PAYLOAD_UNSTORABLE: {
    status: 400,
    message: 'Reading holds text the database cannot store (a NUL character or a lone surrogate)',
  },
  HUB_ERR_STORAGE_REFUSED: {
    status: 422,
    message: 'The database refused this reading; it was kept as a dead letter',
  },
  HUB_ERR_DEVICE_UNKNOWN: { status: 404, message: 'Unknown device' },
  HUB_ERR_DEVICE_DISABLED: { status: 403, message: 'Device is disabled' },
  HUB_ERR_AUTH_FAILED: { status: 401, message: 'Wrong credentials' },
  HUB_ERR_TOPIC_FORBIDDEN: { status: 403, message: 'Topic is outside the client’s own prefix' },
  HUB_ERR_DEVICE_EXISTS: { status: 409, message: 'A device with this id already exists' },
  HUB_ERR_COMMAND_UNKNOWN: {
    status: 400,
    message: 'The device’s facility type has no such command, or its arguments are wrong',
  },
  HUB_ERR_MQTT_RATE_LIMITED: {
    status: 429,
    message: 'Device publishes faster than its allowed rate; excess dropped',
  },
  HUB_ERR_MQTT_TOO_MANY_CONNECTIONS: {
    status: 503,
    message: 'The broker holds its maximum number of connections',
  },
  HUB_ERR_MQTT_WILL_FORBIDDEN: {
    status: 403,
    message: 'A last will is allowed only on the device’s own status topic',
  },
  HUB_ERR_BAD_REQUEST: { status: 400, message: 'Bad request' },
  HUB_ERR_NOT_FOUND: { status: 404, message: 'Not found' },
  HUB_ERR_RULE_UNKNOWN: { status: 404, message: 'Unknown rule' },
  HUB_ERR_RULE_INVALID: { status: 400, message: 'Rule settings do not match its kind' },
  HUB_ERR_RULE_EXISTS: { status: 409, message: 'A rule with this id already exists' },
  HUB_ERR_INTERNAL: { status: 500, message: 'Internal error' },
  HUB_ERR_UNAUTHENTICATED: { status: 401, message: 'Log in first' },
  HUB_ERR_LOGIN_FAILED: { status: 401, message: 'Wrong username or password' },
  HUB_ERR_FORBIDDEN: { status: 403, message: 'Your role may not do this' },
  HUB_ERR_TOO_MANY_LOGINS: {
    status: 429,
    message: 'Too many failed logins for this user or from this address; wait and try again',
  },
  HUB_ERR_LOGIN_BUSY: {
    status: 503,
    message: 'Too many logins are being checked at once; try again in a moment',
  },
  HUB_ERR_OUT_OF_AREA: {
    status: 403,
    message: 'Outside your area: an area-scoped user works only on cases and devices in its area',
  },
  HUB_ERR_CASE_UNKNOWN: { status: 404, message: 'Unknown case' },
  HUB_ERR_CASE_TRANSITION: {
    status: 409,
    message: 'The case is not in a state that allows this action',
  },
  HUB_ERR_NO_ROUTE: { status: 409, message: 'No department or crew is routed for this case' },
  HUB_ERR_USER_EXISTS: { status: 409, message: 'A user with that name exists' },
  HUB_ERR_EXISTS: { status: 409, message: 'A record with this key already exists' },
  HUB_ERR_IN_USE: { status: 409, message: 'Still in use; remove what refers to it first' },
  HUB_ERR_LAST_ADMIN: {
    status: 409,
    message: 'This would leave the city without an enabled admin',
  },
  HUB_ERR_PHOTO_TYPE: {
    status: 415,
    message: 'The file is not a JPEG, PNG or WebP image (checked by its bytes)',
  },
  HUB_ERR_WEBHOOK_CREDENTIALS: {
    status: 400,
    message: 'A webhook URL may not carry user:password',
  },
  HUB_ERR_WEBHOOK_TARGET: {
    status: 400,
    message: 'The webhook target is not a public address',
  },
  HUB_ERR_CSV_ENCODING: {
    status: 400,
    message: 'The CSV file is neither UTF-8 nor GBK / GB18030, or not the charset it declares',
  },
  HUB_ERR_WRONG_PASSWORD: { status: 403, message: 'The current password is wrong' },
  HUB_ERR_ALARM_UNKNOWN: { status: 404, message: 'Unknown alarm' },
  HUB_ERR_ALARM_CLEARED: { status: 409, message: 'The alarm is cleared' },
  HUB_ERR_IDEMPOTENCY_MISMATCH: {
    status: 422,
    message: 'This Idempotency-Key was used with another request',
  },
  HUB_ERR_IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    message: 'A request with this Idempotency-Key is still being processed',
  },
  HUB_ERR_CSRF: {
    status: 403,
    message:
      'A change sent with the session cookie needs a JSON body or the header X-Hub-Request: 1',
  },
  HUB_ERR_TEXT_INVALID: {
    status: 400,
    message: 'Text contains a NUL character or a lone surrogate',
  },
  HUB_ERR_BODY_TOO_DEEP: { status: 400, message: 'JSON body is nested deeper than the limit' },
  HUB_ERR_BODY_TOO_LARGE: { status: 413, message: 'Request body is larger than the limit' },
  HUB_ERR_MEDIA_TYPE: { status: 415, message: 'Content type not accepted here' },
  // Grid officers and citizens (issue #16; docs/api.md "Reports (上报) …").
  HUB_ERR_CATEGORY_UNKNOWN: { status: 400, message: 'Unknown 部件/事件 category code' },
  HUB_ERR_PHOTO_REQUIRED: { status: 400, message: 'At least one photo is required' },
  HUB_ERR_REPORT_UNKNOWN: { status: 404, message: 'Unknown report' },
  HUB_ERR_REPORT_STATE: { status: 409, message: 'The report is not in a state that allows this' },
  HUB_ERR_PATROL_UNKNOWN: { status: 404, message: 'Unknown patrol' },
  HUB_ERR_PATROL_OPEN: { status: 409, message: 'You already have a patrol under way' },
  HUB_ERR_PATROL_ENDED: { status: 409, message: 'The patrol has ended' },
  HUB_ERR_VERIFY_NOT_YOURS: {
    status: 403,
    message: 'The case is not waiting for your on-site verification',
  },
  HUB_ERR_PUBLIC_RATE_LIMITED: {
    status: 429,
    message:
      'Too many reports from this address or device; please try again in a minute (提交过于频繁，请一分钟后再试)',
  },
  HUB_ERR_RATING_NOT_OPEN: {
    status: 409,
    message: 'The case is not closed yet; it can be rated once it is closed',
  },
  HUB_ERR_RATING_EXISTS: { status: 409, message: 'This report has been rated already' },
} as const satisfies Record<string, { status: number; message: string }>;

export type HubErrorCode = keyof typeof errorCatalog;

export class HubError extends Error {
  readonly code: HubErrorCode;
  readonly statusCode: number;
  constructor(code: HubErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(
      detail ? `${errorCatalog[code].message}: ${detail}` : errorCatalog[code].message,
      options,
    );
    this.name = 'HubError';
    this.code = code;
    this.statusCode = errorCatalog[code].status;
  }
}

export function isHubError(err: unknown): err is HubError {
  return err instanceof HubError;
}
