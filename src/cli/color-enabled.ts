/**
 * Whether output may be coloured: only on a terminal, never with `NO_COLOR` set (https://no-color.org)
 * or `TERM=dumb`.
 * @module
 */

export function colorEnabled(
  stream: { isTTY?: boolean | undefined },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** `text` in bold red when `on`. */
export function red(text: string, on: boolean): string {
  return on ? `\u001b[1;31m${text}\u001b[0m` : text;
}
