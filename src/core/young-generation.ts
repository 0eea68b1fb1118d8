import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * Keeps V8's young generation at most `capBytes` (both semi-spaces together).
 *
 * V8 doubles the young generation while objects survive, up to 2 x 16 MiB, and keeps it at
 * that size: on a replicating peer it reached 32 MiB and stayed resident, a third of the
 * process. Its maximum (--max-semi-space-size) is read only when the heap is made, which a
 * program cannot do for itself, but the growth factor is read at each growth: after every
 * collection the factor is set to 1 (no growth) once the cap is reached and back to 2 below it.
 * Returns a function that stops watching.
 */
export function capYoungGeneration(capBytes: number): () => void {
  let growing: boolean | undefined;
  const apply = (): void => {
    const grow = newSpaceBytes() < capBytes;
    if (grow === growing) return;
    growing = grow;
    v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
  };
  apply();
  const observer = new PerformanceObserver(apply);
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}
