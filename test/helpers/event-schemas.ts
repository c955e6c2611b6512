import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

interface WebhookOperation {
  post: { requestBody: { content: { 'application/json': { schema: object } } } };
}

/** Validates a received event against its schema in openapi.yaml's webhooks section; answers the problems, if any. */
export function eventSchemaCheck(): (event: { type: string }) => string | undefined {
  const document = parse(readFileSync('openapi.yaml', 'utf8')) as { webhooks: Record<string, WebhookOperation> };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv, ['date-time']);
  const validators = new Map<string, ValidateFunction>(
    Object.entries(document.webhooks).map(([type, operation]) => [type, ajv.compile(operation.post.requestBody.content['application/json'].schema)]),
  );
  return (event) => {
    const validate = validators.get(event.type);
    if (!validate) return `no schema for ${event.type}`;
    return validate(event) ? undefined : ajv.errorsText(validate.errors);
  };
}
