const PREFIX = '#/components/schemas/';

type Json = unknown;

function collectRefs(value: Json, into: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const item of value) collectRefs(item, into);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string' && item.startsWith(PREFIX)) into.add(item.slice(PREFIX.length));
      else collectRefs(item, into);
    }
  }
  return into;
}

/**
 * Zod schemas with an id are published twice, as `X` (what the API answers) and `XInput` (what it
 * would take). Keep only the components that an operation refers to, directly or through another.
 */
export function dropUnusedSchemas<T extends object>(document: T): T {
  const { components, ...rest } = document as { components?: { schemas?: Record<string, Json> } };
  const schemas = components?.schemas ?? {};
  const used = collectRefs(rest, new Set());
  for (const pending = [...used]; pending.length > 0; ) {
    for (const name of collectRefs(schemas[pending.pop()!], new Set())) {
      if (!used.has(name)) {
        used.add(name);
        pending.push(name);
      }
    }
  }
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return { ...document, components: { ...components, schemas: kept } };
}
