/** Runs `fn` over `items` with at most `width` calls in flight: the bridge's bound on remote calls. @module */

/**
 * @example
 * await inParallel(runs, 64, (r) => deliver(r));
 */
export async function inParallel<T>(
  items: readonly T[],
  width: number,
  fn: (t: T) => Promise<void>,
): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await fn(items[i++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
