/**
 * A task's stack trace with frames in a DAG bundle mapped back to the DAG's own files and lines,
 * through the source map each bundle carries. Done only when a task fails: turning source maps on
 * for a task thread instead parsed every module's map as it loaded (~7 MB a thread).
 * @module
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const maps = new Map<string, SourceMap | null>();
const INLINE_MAP = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

function mapOf(bundleUrl: string): SourceMap | null {
  let map = maps.get(bundleUrl);
  if (map === undefined) {
    try {
      const inline = INLINE_MAP.exec(readFileSync(fileURLToPath(bundleUrl), 'utf8'));
      map = inline ? new SourceMap(JSON.parse(Buffer.from(inline[1]!, 'base64').toString('utf8'))) : null;
    } catch {
      map = null;
    }
    maps.set(bundleUrl, map);
  }
  return map;
}

/** `stack` with each `bundleUrl:line:column` replaced by the original `file:line:column`. */
export function mapBundleStack(stack: string, bundleUrl: string): string {
  const map = mapOf(bundleUrl);
  if (!map) return stack;
  const at = new RegExp(`${bundleUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`, 'g');
  return stack.replace(at, (frame, line: string, column: string) => {
    const entry = map.findEntry(Number(line) - 1, Number(column) - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (!entry.originalSource) return frame;
    const source = entry.originalSource.startsWith('file:')
      ? fileURLToPath(entry.originalSource)
      : entry.originalSource;
    return `${source}:${entry.originalLine! + 1}:${entry.originalColumn! + 1}`;
  });
}
