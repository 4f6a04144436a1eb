/** Maps stack frames of a bundled DAG file back to the TypeScript sources the user wrote. @module */
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

const FRAME = /\(?((?:file:\/\/)?\/[^()]+?):(\d+):(\d+)\)?\s*$/;

/** Maps locations in one bundle (`bundlePath`) to the sources, using the bundle's source map. */
export class BundleLocations {
  readonly #bundlePath: string;
  readonly #map: SourceMap;

  constructor(bundlePath: string, sourceMapJson: string) {
    this.#bundlePath = bundlePath;
    this.#map = new SourceMap(JSON.parse(sourceMapJson));
  }

  /**
   * Parses one `file:line:column` (a stack frame or `Dag.definedAt`) and maps it to the sources.
   * Frames already mapped by Node (source maps enabled) pass through.
   */
  map(frame: string): SourceLocation | null {
    const m = frame.match(FRAME);
    if (!m) return null;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    const line = Number(m[2]);
    const column = Number(m[3]);
    if (file !== this.#bundlePath) return { file, line, column };
    const entry = this.#map.findEntry(line - 1, column - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (!entry.originalSource || entry.originalLine === undefined) return null;
    return {
      file: entry.originalSource.startsWith('file://')
        ? fileURLToPath(entry.originalSource)
        : entry.originalSource,
      line: entry.originalLine + 1,
      column: (entry.originalColumn ?? 0) + 1,
    };
  }

  /** The innermost frame of `stack` that lies in one of `files` (the DAG file and its local imports). */
  firstIn(stack: string | undefined, files: ReadonlySet<string>): SourceLocation | null {
    for (const line of (stack ?? '').split('\n').slice(1)) {
      const loc = this.map(line);
      if (loc && files.has(loc.file)) return loc;
    }
    return null;
  }
}
