/**
 * Splits a `.cedar` file into its policies, each with the line it starts on, so that every policy id
 * is `file:line` and Cedar's error offsets can be turned back into file positions. Parsing stays
 * Cedar's: this only finds the `;` that end policies, skipping strings and `//` comments.
 * @module
 */

/** One policy's text and where it starts in its file. */
export interface PolicyChunk {
  readonly text: string;
  /** Character offset of the chunk in the file. */
  readonly offset: number;
  /** 1-based line of the policy's first token (its first annotation or its effect). */
  readonly line: number;
}

/**
 * Splits file text into policy chunks. Text after the last `;` that is not blank or a comment becomes
 * a chunk too, so Cedar reports it rather than it vanishing.
 *
 * @example
 * splitPolicyFile('permit(principal, action, resource);\nforbid(principal, action, resource);')
 * // → [{ line: 1, … }, { line: 2, … }]
 */
export function splitPolicyFile(text: string): PolicyChunk[] {
  const chunks: PolicyChunk[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i = skipString(text, i);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === ';') {
      pushChunk(text, start, i + 1, chunks);
      start = i + 1;
      i++;
    } else {
      i++;
    }
  }
  pushChunk(text, start, text.length, chunks);
  return chunks;
}

function skipString(text: string, open: number): number {
  let i = open + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function pushChunk(text: string, from: number, to: number, chunks: PolicyChunk[]): void {
  const first = firstToken(text, from, to);
  if (first < 0) return;
  chunks.push({ text: text.slice(first, to), offset: first, line: lineAt(text, first) });
}

/** The offset of the first character that is neither blank nor in a comment, or -1. */
function firstToken(text: string, from: number, to: number): number {
  let i = from;
  while (i < to) {
    if (/\s/.test(text[i]!)) i++;
    else if (text[i] === '/' && text[i + 1] === '/') while (i < to && text[i] !== '\n') i++;
    else return i;
  }
  return -1;
}

/** 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** 1-based column of a character offset. */
export function columnAt(text: string, offset: number): number {
  const nl = text.lastIndexOf('\n', offset - 1);
  return offset - nl;
}

/**
 * Cedar reports UTF-8 byte offsets; JavaScript strings index UTF-16 units. Converts one to the other
 * so that lines stay right in files with non-ASCII comments or strings.
 */
export function charOffset(text: string, byteOffset: number): number {
  // ASCII text: bytes and characters coincide, the common case.
  if (Buffer.byteLength(text, 'utf8') === text.length) return byteOffset;
  return Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8').length;
}
