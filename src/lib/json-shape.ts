export interface JsonShapeLimits {
  /** Levels of nesting, the value itself being level 1. */
  maxDepth: number;
  /** Object keys and array items, counted at every level. */
  maxEntries: number;
}

/**
 * Why a parsed JSON value is deeper or wider than allowed, or undefined when it fits. The walk is
 * iterative and stops at the first excess, so a hostile value cannot exhaust the stack or the CPU
 * (JSON.stringify of a value nested a few thousand levels deep throws a RangeError).
 */
export function jsonShapeExcess(value: unknown, limits: JsonShapeLimits): string | undefined {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  let entries = 0;
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (next.value === null || typeof next.value !== 'object') continue;
    if (next.depth > limits.maxDepth) return `is nested more than ${limits.maxDepth} levels deep`;
    const children = Array.isArray(next.value) ? next.value : Object.values(next.value);
    entries += children.length;
    if (entries > limits.maxEntries) return `has more than ${limits.maxEntries} keys and array items in all`;
    for (const child of children) pending.push({ value: child, depth: next.depth + 1 });
  }
  return undefined;
}
