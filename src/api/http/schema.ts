// A small schema language for request validation. Schemas are plain JSON Schema objects (the subset
// OpenAPI 3.1 shares), so the OpenAPI document copies them as they are; the same object checks
// every path parameter, query parameter and body before a handler sees it. Builders make bounds
// mandatory where an unbounded input would be a risk (every string has a maxLength, every array
// a maxItems).

export interface BaseSchema {
  description?: string;
  /** null is accepted as well (OpenAPI 3.1: type [t, "null"]). */
  nullable?: boolean;
  default?: unknown;
  example?: unknown;
}

export interface StringSchema extends BaseSchema {
  type: 'string';
  minLength?: number;
  maxLength: number;
  /** ECMAScript regular expression source, anchored by the author. */
  pattern?: string;
  enum?: readonly string[];
  format?: string;
  /** Accept control characters other than tab, newline and carriage return (never NUL). */
  allowControl?: boolean;
}

export interface IntegerSchema extends BaseSchema {
  type: 'integer';
  minimum: number;
  maximum: number;
}

export interface NumberSchema extends BaseSchema {
  type: 'number';
  minimum: number;
  maximum: number;
}

export interface BooleanSchema extends BaseSchema {
  type: 'boolean';
}

export interface ArraySchema extends BaseSchema {
  type: 'array';
  items: Schema;
  minItems?: number;
  maxItems: number;
  uniqueItems?: boolean;
}

export interface ObjectSchema extends BaseSchema {
  type: 'object';
  properties: Readonly<Record<string, Schema>>;
  required?: readonly string[];
  /** false (default for request bodies): unknown members are refused. */
  additionalProperties?: boolean | Schema;
  maxProperties?: number;
}

/** Documentation-only shape for responses (any JSON value); never used to check input. */
export interface AnySchema extends BaseSchema {
  type?: undefined;
}

export type Schema = StringSchema | IntegerSchema | NumberSchema | BooleanSchema | ArraySchema | ObjectSchema | AnySchema;

// ---- builders ---------------------------------------------------------------------------------

type Opt<T> = Omit<T, 'type'>;

export const s = {
  string: (o: Opt<StringSchema>): StringSchema => ({ type: 'string', ...o }),
  enum: <T extends string>(values: readonly T[], o: Omit<Opt<StringSchema>, 'maxLength' | 'enum'> = {}): StringSchema => ({
    type: 'string',
    enum: values,
    maxLength: Math.max(...values.map((v) => v.length)),
    ...o,
  }),
  int: (minimum: number, maximum: number, o: Omit<Opt<IntegerSchema>, 'minimum' | 'maximum'> = {}): IntegerSchema => ({ type: 'integer', minimum, maximum, ...o }),
  number: (minimum: number, maximum: number, o: Omit<Opt<NumberSchema>, 'minimum' | 'maximum'> = {}): NumberSchema => ({ type: 'number', minimum, maximum, ...o }),
  bool: (o: Opt<BooleanSchema> = {}): BooleanSchema => ({ type: 'boolean', ...o }),
  array: (items: Schema, maxItems: number, o: Omit<Opt<ArraySchema>, 'items' | 'maxItems'> = {}): ArraySchema => ({ type: 'array', items, maxItems, ...o }),
  object: (properties: Record<string, Schema>, o: Omit<Opt<ObjectSchema>, 'properties'> = {}): ObjectSchema => ({ type: 'object', properties, additionalProperties: false, ...o }),
  /** A response object: documents members, allows more. */
  shape: (properties: Record<string, Schema>, o: Omit<Opt<ObjectSchema>, 'properties'> = {}): ObjectSchema => ({ type: 'object', properties, additionalProperties: true, ...o }),
  any: (description?: string): AnySchema => (description ? { description } : {}),
} as const;

// ---- validation -------------------------------------------------------------------------------

export interface Problem {
  /** Where: body.password, query.limit, path.uuid … */
  at: string;
  message: string;
}

export class ValidationError extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map((p) => `${p.at}: ${p.message}`).join('; '));
    this.name = 'ValidationError';
    this.problems = problems;
  }
}

const MAX_PROBLEMS = 10;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const patternCache = new Map<string, RegExp>();

function regex(source: string): RegExp {
  let re = patternCache.get(source);
  if (!re) {
    re = new RegExp(source, 'u');
    patternCache.set(source, re);
  }
  return re;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  return `${typeof value} ${String(value)}`.slice(0, 40);
}

function quote(value: string): string {
  return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value);
}

/** Checks `value` against `schema`; returns it with object defaults applied, or throws ValidationError. */
export function validate<T = unknown>(schema: Schema, value: unknown, at: string): T {
  const problems: Problem[] = [];
  const out = check(schema, value, at, problems);
  if (problems.length > 0) throw new ValidationError(problems);
  return out as T;
}

function check(schema: Schema, value: unknown, at: string, problems: Problem[]): unknown {
  if (problems.length >= MAX_PROBLEMS) return value;
  const fail = (message: string) => {
    problems.push({ at, message });
    return value;
  };
  if (value === null) return schema.nullable ? null : fail(`must not be null`);
  switch (schema.type) {
    case undefined:
      return value;
    case 'string': {
      if (typeof value !== 'string') return fail(`expected a string, got ${typeName(value)}`);
      if (schema.enum && !schema.enum.includes(value)) return fail(`must be one of ${schema.enum.join(', ')}; got ${quote(value)}`);
      if (value.length > schema.maxLength) return fail(`is ${value.length} characters long; the limit is ${schema.maxLength}`);
      if (schema.minLength !== undefined && value.length < schema.minLength) {
        return fail(schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters`);
      }
      if (value.includes('\u0000') || (!schema.allowControl && CONTROL.test(value))) return fail('must not contain control characters');
      if (schema.pattern && !regex(schema.pattern).test(value)) return fail(`${quote(value)} does not have the expected form${schema.description ? ` (${schema.description})` : ''}`);
      return value;
    }
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail(`expected a ${schema.type === 'integer' ? 'whole number' : 'number'}, got ${typeName(value)}`);
      if (schema.type === 'integer' && !Number.isInteger(value)) return fail(`expected a whole number, got ${value}`);
      if (value < schema.minimum || value > schema.maximum) return fail(`must be from ${schema.minimum} to ${schema.maximum}; got ${value}`);
      return value;
    }
    case 'boolean':
      return typeof value === 'boolean' ? value : fail(`expected true or false, got ${typeName(value)}`);
    case 'array': {
      if (!Array.isArray(value)) return fail(`expected a list, got ${typeName(value)}`);
      if (value.length > schema.maxItems) return fail(`has ${value.length} items; the limit is ${schema.maxItems}`);
      if (schema.minItems !== undefined && value.length < schema.minItems) return fail(`needs at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
      const items = value.map((item, i) => check(schema.items, item, `${at}[${i}]`, problems));
      if (schema.uniqueItems && new Set(items.map((v) => JSON.stringify(v))).size !== items.length) return fail('must not repeat items');
      return items;
    }
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return fail(`expected an object, got ${typeName(value)}`);
      const input = value as Record<string, unknown>;
      const keys = Object.keys(input);
      if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) return fail(`has ${keys.length} members; the limit is ${schema.maxProperties}`);
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const member = Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
        if (member) {
          out[key] = check(member, input[key], `${at}.${key}`, problems);
        } else if (schema.additionalProperties === true) {
          out[key] = input[key];
        } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
          out[key] = check(schema.additionalProperties, input[key], `${at}.${key.slice(0, 64)}`, problems);
        } else {
          problems.push({ at: `${at}.${key.slice(0, 64)}`, message: `is not a known member (known: ${Object.keys(schema.properties).join(', ') || 'none'})` });
        }
      }
      for (const key of schema.required ?? []) {
        if (input[key] === undefined) problems.push({ at: `${at}.${key}`, message: 'is required' });
      }
      for (const [key, member] of Object.entries(schema.properties)) {
        if (out[key] === undefined && member.default !== undefined) out[key] = member.default;
      }
      return out;
    }
  }
}

// ---- query strings ------------------------------------------------------------------------------

/** Values a browser or a generated client sends for "not set". */
const UNSET = new Set(['', 'null', 'undefined', 'NULL']);

function coerceScalar(schema: Schema, raw: string, at: string, problems: Problem[]): unknown {
  switch (schema.type) {
    case 'integer':
      if (!/^-?\d{1,16}$/.test(raw)) {
        problems.push({ at, message: `expected a whole number, got ${quote(raw)}` });
        return undefined;
      }
      return Number(raw);
    case 'number': {
      const n = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isFinite(n) || raw.length > 32) {
        problems.push({ at, message: `expected a number, got ${quote(raw)}` });
        return undefined;
      }
      return n;
    }
    case 'boolean':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      problems.push({ at, message: `expected true or false, got ${quote(raw)}` });
      return undefined;
    default:
      return raw;
  }
}

/**
 * Turns a query string into checked values. Unknown parameters are refused, a parameter given twice
 * is refused unless it is a list, and the usual spellings of "not set" leave an optional one unset.
 */
export function parseQuery(spec: Readonly<Record<string, Schema>> | undefined, params: URLSearchParams, required: readonly string[] = []): Record<string, unknown> {
  const problems: Problem[] = [];
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (seen.has(key)) continue;
    seen.add(key);
    const at = `query.${key.slice(0, 64)}`;
    const schema = spec && Object.hasOwn(spec, key) ? spec[key] : undefined;
    if (!schema) {
      problems.push({ at, message: `is not a parameter of this endpoint${spec && Object.keys(spec).length ? ` (known: ${Object.keys(spec).join(', ')})` : ''}` });
      continue;
    }
    const values = params.getAll(key);
    if (schema.type === 'array') {
      if (values.length > schema.maxItems) {
        problems.push({ at, message: `is given ${values.length} times; the limit is ${schema.maxItems}` });
        continue;
      }
      const items = values.map((v, i) => coerceScalar(schema.items, v, `${at}[${i}]`, problems));
      out[key] = check(schema, items, at, problems);
      continue;
    }
    if (values.length > 1) {
      problems.push({ at, message: 'is given more than once' });
      continue;
    }
    if (UNSET.has(values[0]) && !required.includes(key)) continue;
    const value = coerceScalar(schema, values[0], at, problems);
    if (value !== undefined) out[key] = check(schema, value, at, problems);
  }
  for (const key of required) if (out[key] === undefined && !problems.some((p) => p.at === `query.${key}`)) problems.push({ at: `query.${key}`, message: 'is required' });
  if (spec) {
    for (const [key, schema] of Object.entries(spec)) if (out[key] === undefined && schema.default !== undefined) out[key] = schema.default;
  }
  if (problems.length > 0) throw new ValidationError(problems.slice(0, MAX_PROBLEMS));
  return out;
}
