#!/usr/bin/env node
// `prepare`: builds the web UI into dist/web (`npm run build:ui`), unless the build there is newer
// than everything it is built from: ui/ and the installed packages (package.json, package-lock.json).
//
// npm runs `prepare` after `npm install` in a clone, and also each time the first `npx airclutch`
// in a clone links the checkout into npm's cache to run its own bin: rebuilding there took ~25 s of
// CPU before the command ran, and rewrote dist/web under a running server.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The newest modification time of `path`, a file or a folder walked whole. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), stat.mtimeMs);
}

/** Whether `root`'s dist/web is missing, or older than one of the files it is built from. */
export function uiBuildIsStale(root) {
  const built = join(root, 'dist', 'web', 'index.html');
  if (!existsSync(built)) return true;
  const at = statSync(built).mtimeMs;
  return ['ui', 'package.json', 'package-lock.json']
    .map((p) => join(root, p))
    .some((p) => existsSync(p) && newest(p) > at);
}

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && uiBuildIsStale(root)) {
  execSync('npm run build:ui', { cwd: root, stdio: 'inherit' });
}
