/**
 * A signal that aborts when any of `signals` does, or after `ms`; `dispose` lets go of them. Node
 * 20's own AbortSignal.any and AbortSignal.timeout hold their sources weakly, so a composite nobody
 * else references can be collected before it fires: this one is kept alive by its sources' listeners
 * and its own timer.
 */
export function abortWhen(signals: readonly AbortSignal[], ms?: number): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const timer = ms === undefined ? undefined : setTimeout(abort, ms);
  const dispose = () => {
    if (timer) clearTimeout(timer);
    for (const signal of signals) signal.removeEventListener('abort', abort);
  };
  controller.signal.addEventListener('abort', dispose, { once: true });
  for (const signal of signals) {
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  }
  return { signal: controller.signal, dispose };
}
