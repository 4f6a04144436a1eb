/**
 * Watches folders for changes (DAG files, policies), debounced, ignoring dot-folders and node_modules.
 * Built on chokidar, which keeps watching a file after an editor or `sed -i` replaces it by rename:
 * Node's own `fs.watch` follows the replaced inode and goes silent, so edits after an atomic save
 * were never seen.
 * @module
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { watch } from 'chokidar';

/**
 * chokidar drops a second `change` of a path within 50 ms of the first, and a second removal within
 * 100 ms, with no trailing event. Waiting longer than that after the last event we do see means the
 * reload reads whatever those dropped events wrote.
 */
const MIN_DEBOUNCE_MS = 120;

export interface WatchFoldersOptions {
  /**
   * Quiet time after the last event before `onChange` runs: an editor's save is several events.
   * At least 120 ms, whatever is asked (see `MIN_DEBOUNCE_MS`).
   */
  debounceMs: number;
  /** Only files whose path matches count (folders always do); default: every file. */
  only?: RegExp;
  onChange(): void;
  onError(e: Error): void;
}

/** A running watch. */
export interface FolderWatch {
  /** Settles once the initial scan is done: changes after it are seen. */
  readonly ready: Promise<void>;
  /** Stops watching and cancels a pending `onChange`. */
  close(): Promise<void>;
}

/**
 * Watches `dirs` recursively and calls `onChange` once per burst of events (add, change, unlink, of
 * files and folders). A folder that does not exist when watching starts is not watched (as before:
 * restart once it exists).
 *
 * @example
 * const w = watchFolders(['dags'], { debounceMs: 100, onChange: reload, onError: console.error });
 * await w.ready;
 * await w.close();
 */
export function watchFolders(dirs: readonly string[], options: WatchFoldersOptions): FolderWatch {
  const roots = [...new Set(dirs.map((d) => resolve(d)))];
  const debounceMs = Math.max(options.debounceMs, MIN_DEBOUNCE_MS);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const watcher = watch(roots, {
    ignoreInitial: true,
    // A file deleted and re-created within this window is one `change`, as an atomic save is.
    atomic: true,
    ignored: (path) => isIgnored(path, roots),
  });
  watcher.on('all', (event, path) => {
    if (closed) return;
    if (options.only && !event.endsWith('Dir') && !options.only.test(path)) return;
    clearTimeout(timer);
    timer = setTimeout(options.onChange, debounceMs);
  });
  watcher.on('error', (e) => options.onError(e instanceof Error ? e : new Error(String(e))));
  const ready = new Promise<void>((ok) => watcher.once('ready', () => ok()));
  return {
    ready,
    async close() {
      closed = true;
      clearTimeout(timer);
      await watcher.close();
    },
  };
}

/** Inside a watched root, a path under `node_modules` or a dot-folder (or a dot-file) is ignored. */
function isIgnored(path: string, roots: readonly string[]): boolean {
  const abs = resolve(path);
  for (const root of roots) {
    const rel = relative(root, abs);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) continue;
    return rel.split(/[\\/]/).some((s) => s === 'node_modules' || (s.startsWith('.') && s.length > 1));
  }
  return false;
}
