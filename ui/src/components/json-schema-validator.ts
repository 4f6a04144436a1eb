/**
 * react-jsonschema-form's validator on @cfworker/json-schema, which interprets schemas instead of
 * compiling them to code: ajv needs `eval`, which the server's Content-Security-Policy
 * (`script-src 'self'`) rightly forbids.
 */
import { Validator } from '@cfworker/json-schema';
import {
  type ErrorTransformer,
  type RJSFSchema,
  type RJSFValidationError,
  toErrorSchema,
  type UiSchema,
  type ValidationData,
  type ValidatorType,
} from '@rjsf/utils';

/** Summary errors that repeat what a nested error already says. */
const SUMMARY = new Set([
  'properties',
  'items',
  'allOf',
  'anyOf',
  'oneOf',
  '$ref',
  'if',
  'then',
  'else',
  'additionalItems',
  'prefixItems',
]);

function run(schema: RJSFSchema, data: unknown) {
  const { $schema: _draft, ...rest } = schema as Record<string, unknown>;
  return new Validator(rest as object, '2020-12', false).validate(data);
}

function toRjsfErrors(schema: RJSFSchema, data: unknown): RJSFValidationError[] {
  return run(schema, data)
    .errors.filter((e) => !SUMMARY.has(e.keyword))
    .map((e) => {
      const path = e.instanceLocation.replace(/^#/, '').split('/').filter(Boolean);
      const missing = e.keyword === 'required' ? /"([^"]+)"/.exec(e.error)?.[1] : undefined;
      if (missing) path.push(missing);
      const property = path.length ? `.${path.join('.')}` : '';
      const message = missing ? 'is a required property' : e.error;
      return {
        name: e.keyword,
        property,
        message,
        stack: `${property || 'root'} ${message}`.trim(),
        schemaPath: e.keywordLocation,
      };
    });
}

export const jsonSchemaValidator: ValidatorType = {
  validateFormData(
    formData,
    schema,
    _customValidate,
    transformErrors?: ErrorTransformer,
    uiSchema?: UiSchema,
  ): ValidationData<unknown> {
    let errors = toRjsfErrors(schema, formData);
    if (transformErrors) errors = transformErrors(errors, uiSchema);
    return { errors, errorSchema: toErrorSchema(errors) };
  },
  isValid(schema, formData, rootSchema) {
    const { $defs, definitions } = rootSchema as Record<string, unknown>;
    const withDefs = {
      ...(schema as object),
      ...($defs ? { $defs } : {}),
      ...(definitions ? { definitions } : {}),
    };
    return run(withDefs as RJSFSchema, formData).valid;
  },
  rawValidation(schema, formData) {
    try {
      return { errors: run(schema, formData).errors as never[] };
    } catch (e) {
      return { validationError: e as Error };
    }
  },
};
