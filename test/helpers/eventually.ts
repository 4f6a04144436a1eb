/**
 * Waits for a condition the system reaches on its own time, instead of sleeping a fixed time that a
 * loaded machine can overrun.
 */

/**
 * Resolves with `probe()`'s value once `accept` takes it; rejects with the last value seen after
 * `timeoutMs` (generous by default: the point is to never fail a test because the machine is slow).
 *
 * @example
 * await eventually(() => h.tasks(runId), (t) => t.short?.state === 'running');
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  { timeoutMs = 20_000, everyMs = 10 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`condition not reached in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
