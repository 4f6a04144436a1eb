/** Watches DAG folders for changes (dev mode), debounced, ignoring dot-folders and node_modules. @module */
import { existsSync, type FSWatcher, watch } from 'node:fs';

export interface WatchFoldersOptions {
  /** Quiet time after the last event before `onChange` runs: an editor's save is several events. */
  debounceMs: number;
  onChange(): void;
  onError(e: Error): void;
}

/**
 * Watches `dirs` recursively (`fs.watch` with `recursive`, which Node 20 supports on Linux, macOS and
 * Windows) and calls `onChange` once per burst of events. Folders that do not exist are skipped.
 * Returns a function that stops watching and cancels a pending call.
 *
 * @example
 * const stop = watchFolders(['dags'], { debounceMs: 100, onChange: reload, onError: console.error });
 */
export function watchFolders(dirs: readonly string[], options: WatchFoldersOptions): () => void {
  let timer: NodeJS.Timeout | undefined;
  const fire = (_event: string, name: string | Buffer | null) => {
    const path = String(name ?? '');
    if (path.split(/[\\/]/).some((s) => s === 'node_modules' || (s.startsWith('.') && s.length > 1))) return;
    clearTimeout(timer);
    timer = setTimeout(options.onChange, options.debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(dirs)) {
    if (!existsSync(dir)) continue;
    const w = watch(dir, { recursive: true }, fire);
    w.on('error', options.onError);
    watchers.push(w);
  }
  return () => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
