/**
 * Turns Airflow's serialized DAG params (`{ name: { __class, value, description, schema } }`) into
 * the JSON Schema Airclutch validates params with and generates the Cedar context from. Where Airflow
 * gives a param no schema, the type is taken from its default value (a string when there is none),
 * and the assumption is returned so it can be shown.
 * @module
 */

export interface ParamsSchemaResult {
  readonly schema: Record<string, unknown>;
  /** One line per param whose type was assumed: `rows: no schema in Airflow; assumed an integer from its default 10`. */
  readonly assumptions: string[];
}

const KNOWN = new Set([
  'type',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'description',
  'title',
  'examples',
  'anyOf',
  'oneOf',
  'allOf',
]);

/**
 * @example
 * paramsSchemaOf({ rows: { value: 10, schema: { type: 'integer' } } }).schema
 * // { type: 'object', properties: { rows: { type: 'integer', default: 10 } }, additionalProperties: false }
 */
export function paramsSchemaOf(params: Readonly<Record<string, unknown>> | undefined): ParamsSchemaResult {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  const assumptions: string[] = [];
  for (const [name, raw] of Object.entries(params ?? {})) {
    const p = normalise(raw);
    const given = Object.fromEntries(Object.entries(p.schema).filter(([k]) => KNOWN.has(k)));
    let prop: Record<string, unknown>;
    if (
      given.type !== undefined ||
      given.enum !== undefined ||
      given.const !== undefined ||
      given.anyOf ||
      given.oneOf
    ) {
      prop = given;
    } else {
      const type = typeOfValue(p.value);
      prop = { ...given, type };
      assumptions.push(
        p.value === null || p.value === undefined
          ? `${name}: no schema in Airflow and no default; assumed a string`
          : `${name}: no schema in Airflow; assumed ${article(type)} ${type} from its default ${JSON.stringify(p.value)}`,
      );
    }
    if (p.description && prop.description === undefined) prop.description = p.description;
    if (p.value !== null && p.value !== undefined) prop.default = p.value;
    else if (!typeAllowsNull(prop)) required.push(name);
    properties[name] = prop;
  }
  // Only declared params pass: Airflow would hand any extra conf key to task code unchecked.
  return {
    schema: {
      type: 'object',
      properties,
      ...(required.length ? { required } : {}),
      additionalProperties: false,
    },
    assumptions,
  };
}

function normalise(raw: unknown): {
  value: unknown;
  schema: Record<string, unknown>;
  description: string | null;
} {
  if (
    raw &&
    typeof raw === 'object' &&
    !Array.isArray(raw) &&
    ('value' in raw || '__class' in raw || 'schema' in raw)
  ) {
    const r = raw as { value?: unknown; schema?: unknown; description?: unknown };
    return {
      value: r.value ?? null,
      schema: r.schema && typeof r.schema === 'object' ? (r.schema as Record<string, unknown>) : {},
      description: typeof r.description === 'string' ? r.description : null,
    };
  }
  // Airflow 2 can serialize a plain value for a param given without Param(...).
  return { value: raw ?? null, schema: {}, description: null };
}

function typeOfValue(v: unknown): string {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (Array.isArray(v)) return 'array';
  if (v && typeof v === 'object') return 'object';
  return 'string';
}

function typeAllowsNull(prop: Record<string, unknown>): boolean {
  const t = prop.type;
  return t === 'null' || (Array.isArray(t) && t.includes('null'));
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? 'an' : 'a';
}
