import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** Twilio's own OpenAPI description of its 2010-04-01 API (see test/fixtures/twilio-oai/README.md). */
const SPEC_PATH = fileURLToPath(new URL('../fixtures/twilio-oai/twilio_api_v2010.json', import.meta.url));

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  pathNames: string[];
  /** Compiled on first use: the description has hundreds of operations. */
  validators: () => { path: ValidateFunction; query: ValidateFunction; body?: ValidateFunction };
}

export interface ContractViolation {
  method: string;
  path: string;
  problems: string[];
}

/** Inlines `#/components/...` references, which Twilio's schemas use for enums. */
function resolveRefs(node: unknown, spec: Schema): unknown {
  if (Array.isArray(node)) return node.map((item) => resolveRefs(item, spec));
  if (node === null || typeof node !== 'object') return node;
  const ref = (node as { $ref?: string }).$ref;
  if (ref?.startsWith('#/')) {
    const target = ref.slice(2).split('/').reduce<unknown>((at, key) => (at as Schema)[key], spec);
    return resolveRefs(target, spec);
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolveRefs(value, spec)]));
}

/** An object schema that, unlike Twilio's, refuses parameters it does not name: a misspelling fails. */
const closedObject = (properties: Record<string, Schema>, required: string[]): Schema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

/**
 * Checks requests against Twilio's OpenAPI description: the path and method exist, path and query
 * parameters and form fields are all named by the description and of the right type, and required
 * ones are present. Form values are strings, so types are coerced as Twilio would read them.
 */
export function loadTwilioContract() {
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Schema;
  const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes: 'array' });
  addFormats.default(ajv, ['date-time', 'uri', 'date']);
  for (const format of ['phone-number', 'endpoint', 'twiml', 'int64', 'iso-country-code']) ajv.addFormat(format, true);
  ajv.addFormat('http-method', /^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS)$/i);

  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
    for (const method of ['get', 'post', 'delete']) {
      const operation = resolveRefs(item[method], spec) as { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } } | undefined;
      if (!operation) continue;
      const parameters = operation.parameters ?? [];
      const byPlace = (place: Parameter['in']) => parameters.filter((parameter) => parameter.in === place);
      const schemaOf = (list: Parameter[]) =>
        closedObject(
          Object.fromEntries(list.map((parameter) => [parameter.name, parameter.schema])),
          list.filter((parameter) => parameter.required).map((parameter) => parameter.name),
        );
      const pathNames = byPlace('path').map((parameter) => parameter.name);
      const body = operation.requestBody?.content['application/x-www-form-urlencoded']?.schema as
        | { properties?: Record<string, Schema>; required?: string[] }
        | undefined;
      let compiled: ReturnType<Operation['validators']> | undefined;
      operations.push({
        method: method.toUpperCase(),
        template,
        pathNames,
        pattern: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '([^/]+)')}$`),
        validators: () =>
          (compiled ??= {
            path: ajv.compile(schemaOf(byPlace('path'))),
            query: ajv.compile(schemaOf(byPlace('query'))),
            ...(body && { body: ajv.compile(closedObject(body.properties ?? {}, body.required ?? [])) }),
          }),
      });
    }
  }

  const describe = (validate: ValidateFunction, where: string) =>
    (validate.errors ?? []).map((error) =>
      error.keyword === 'additionalProperties'
        ? `${where}: unknown parameter ${(error.params as { additionalProperty: string }).additionalProperty}`
        : `${where}${error.instancePath}: ${error.message}`,
    );

  return {
    /** Problems with one request; none when Twilio's description allows it. */
    check(method: string, path: string, query: Record<string, unknown>, form: Record<string, unknown> | undefined): string[] {
      // Prefer literal paths over templated ones (`/Calls.json` before `/{Sid}.json`).
      const candidates = operations
        .filter((operation) => operation.method === method && operation.pattern.test(path))
        .sort((a, b) => a.pathNames.length - b.pathNames.length);
      const operation = candidates[0];
      if (!operation) return [`${method} ${path} is not in Twilio's API description`];
      const values = operation.pattern.exec(path)!.slice(1).map(decodeURIComponent);
      const pathParams = Object.fromEntries(operation.pathNames.map((name, index) => [name, values[index]]));
      const validate = operation.validators();
      const problems: string[] = [];
      if (!validate.path(pathParams)) problems.push(...describe(validate.path, 'path'));
      if (!validate.query({ ...query })) problems.push(...describe(validate.query, 'query'));
      if (form !== undefined) {
        if (!validate.body) problems.push(`${method} ${operation.template} takes no form body`);
        else if (!validate.body({ ...form })) problems.push(...describe(validate.body, 'body'));
      }
      return problems;
    },
  };
}

export type TwilioContract = ReturnType<typeof loadTwilioContract>;
