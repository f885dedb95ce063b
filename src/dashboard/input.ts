import type { FastifyInstance, RouteOptions } from 'fastify';
import { HubError, firstUnstorableIndex, isStorableText } from '../domain/index.js';

/**
 * The HTTP boundary of issue #11: what no handler should have to think about.
 * Text PostgreSQL cannot store, JSON nested beyond reason, numbers beyond what
 * an id column or a Date holds, and query parameters a route does not define
 * are refused here with a stable code, never left to become a 500 deeper in.
 */

/** No route takes more than a few levels; 32 leaves room and stops a stack-deep parse. */
export const maxJsonDepth = 32;

/** Integers without a declared bound stay within what a bigint column and a JS number hold. */
const integerBound = Number.MAX_SAFE_INTEGER;

/** Where a value holds unstorable text (`body.title`, `query.q`), or null. Keys count too. */
export function findUnstorableText(value: unknown, where: string): string | null {
  if (typeof value === 'string') {
    if (isStorableText(value)) return null;
    // A text body (a CSV import): say which line, as the import's own errors do.
    if (where !== 'body') return where;
    return `body line ${value.slice(0, firstUnstorableIndex(value)).split('\n').length}`;
  }
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], `${where}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  for (const [key, v] of Object.entries(value)) {
    if (!isStorableText(key)) return `${where} (a key)`;
    const found = findUnstorableText(v, `${where}.${key}`);
    if (found) return found;
  }
  return null;
}

/** Whether JSON text nests objects and arrays deeper than `max`; one pass, strings skipped. */
export function jsonTooDeep(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

type Schema = Record<string, unknown>;

function typesOf(s: Schema): unknown[] {
  return Array.isArray(s.type) ? s.type : [s.type];
}

/**
 * A copy of a JSON schema whose integers and numbers carry bounds (an
 * unbounded `integer` let `99999999999999999999` reach a bigint column, a
 * 500 from PostgreSQL) and whose date-times lie within 2000–2100.
 */
export function boundNumbers(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(boundNumbers);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    // `enum`, `const`, `default`, `examples` hold values, not schemas.
    out[k] = ['enum', 'const', 'default', 'examples'].includes(k) ? v : boundNumbers(v);
  }
  const types = typesOf(out);
  if (types.includes('integer') || types.includes('number')) {
    if (out.maximum === undefined && out.exclusiveMaximum === undefined) out.maximum = integerBound;
    if (out.minimum === undefined && out.exclusiveMinimum === undefined)
      out.minimum = -integerBound;
  }
  // Times within 2000–2100, as query.ts's parseTime: year 0001 or 9999 is a typo or a probe.
  if (out.format === 'date-time' && out.pattern === undefined) out.pattern = '^(20\\d\\d|2100)-';
  return out;
}

/** Fastify's ajv: refuse what a schema does not name instead of dropping it; no NaN or Infinity. */
export const ajvOptions = {
  customOptions: {
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: 'array',
    allErrors: false,
    strictNumbers: true,
  },
} as const;

/**
 * Boundary checks for every route registered after this call: bounded
 * numbers in every schema, a query schema refusing unknown parameters on
 * every /api route that declares none, a depth limit on JSON bodies, and
 * unstorable text refused in query, path and body.
 */
export function setupInputChecks(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = { ...(route.schema ?? {}) } as Record<string, unknown>;
    if (route.url.startsWith('/api') && schema.querystring === undefined) {
      schema.querystring = { type: 'object', additionalProperties: false, properties: {} };
    }
    for (const part of ['querystring', 'params', 'body', 'headers'] as const) {
      if (schema[part] !== undefined) schema[part] = boundNumbers(schema[part]);
    }
    if (Object.keys(schema).length > 0) route.schema = schema;
  });

  // Fastify's JSON parser (prototype-poisoning checks included) after a depth check.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonTooDeep(body as string, maxJsonDepth)) {
      done(new HubError('HUB_ERR_BODY_TOO_DEEP', `at most ${maxJsonDepth} levels`), undefined);
      return;
    }
    parseJson(request, body as string, done);
  });

  app.addHook('preValidation', async (request) => {
    const found =
      findUnstorableText(request.params, 'path') ??
      findUnstorableText(request.query, 'query') ??
      findUnstorableText(request.body, 'body');
    if (found) throw new HubError('HUB_ERR_TEXT_INVALID', found);
  });
}
