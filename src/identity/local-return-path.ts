/**
 * Where a browser may be sent after sign-in: only a path on this server. Anything a browser could
 * read as another origin (`//host`, `/\host`, a tab or newline it strips, a scheme) becomes `/`.
 * @module
 */

// C0 controls, DEL and the backslash: browsers drop or rewrite them, turning a path into a host.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f\\]/;

/**
 * The path to redirect to after sign-in: `returnTo` resolved against `publicUrl`, kept only if it
 * is a plain path (one leading `/`, no backslash, no control character, also once percent-decoded)
 * whose origin is the public URL's; otherwise `/`.
 *
 * @example
 * localReturnPath('/runs/abc?x=1#y', 'https://airclutch.example'); // '/runs/abc?x=1#y'
 * localReturnPath('/\\evil.example/x', 'https://airclutch.example'); // '/'
 */
export function localReturnPath(returnTo: unknown, publicUrl: string | URL): string {
  if (typeof returnTo !== 'string' || !isPlainPath(returnTo)) return '/';
  let decoded: string;
  try {
    decoded = decodeURIComponent(returnTo);
  } catch {
    return '/';
  }
  if (!isPlainPath(decoded)) return '/';
  const origin = new URL(publicUrl).origin;
  let resolved: URL;
  try {
    resolved = new URL(returnTo, origin);
  } catch {
    return '/';
  }
  if (resolved.origin !== origin) return '/';
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}

function isPlainPath(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !UNSAFE.test(path);
}
