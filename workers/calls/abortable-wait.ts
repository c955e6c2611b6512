/** Waits in progress on each signal, ended together by one listener when it aborts. */
const waitsBySignal = new WeakMap<AbortSignal, Set<() => void>>();

function waitsOn(signal: AbortSignal): Set<() => void> {
  let waits = waitsBySignal.get(signal);
  if (!waits) {
    const ending = new Set<() => void>();
    // One listener per signal, however many calls wait on it: a listener per call would pass
    // Node's limit of 10 at any concurrency above 10 (MaxListenersExceededWarning).
    signal.addEventListener('abort', () => ending.forEach((end) => end()), { once: true });
    waitsBySignal.set(signal, ending);
    waits = ending;
  }
  return waits;
}

/** Waits `ms`; resolves true when the time passed, false when `signal` aborted first. */
export function waitUnlessAborted(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const waits = signal && waitsOn(signal);
    const end = () => {
      clearTimeout(timer);
      waits?.delete(end);
      resolve(false);
    };
    const timer = setTimeout(() => {
      waits?.delete(end);
      resolve(true);
    }, ms);
    waits?.add(end);
  });
}
