/**
 * Serves the web UI (the React app built by `npm run build:ui` into `dist/web`) at `/`, with a
 * fallback to its `index.html` for deep links, so `/runs/<id>` survives a reload. Paths of the API
 * (`/api/`, `/auth/`, `/slack/`) and missing asset files stay problem+json 404s. When the app has not
 * been built, every page says how to build it instead of failing.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AirclutchError } from '../lib/errors.ts';

export interface UiPluginOptions {
  /** The folder of the built app; defaults to `dist/web` in the package root. */
  readonly dir?: string;
}

const API_PREFIXES = ['/api/', '/auth/', '/slack/'];
/** A last path segment with an extension asks for a file (`/assets/x.js`), never for a page. */
const FILE_LIKE = /\/[^/]*\.[A-Za-z0-9]{1,8}$/;

/** The package root: the nearest folder above this module that holds a package.json. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return from;
    dir = up;
  }
  return dir;
}

/** The default location of the built app. */
export function defaultUiDir(): string {
  return join(packageRoot(), 'dist', 'web');
}

/**
 * Registers the UI routes: static files, the SPA fallback, and the "not built" page.
 *
 * @example
 * await app.register(uiPlugin, { dir: '/srv/airclutch/dist/web' });
 */
export async function uiPlugin(app: FastifyInstance, opts: UiPluginOptions): Promise<void> {
  const dir = opts.dir ?? defaultUiDir();
  const indexFile = join(dir, 'index.html');
  const built = existsSync(indexFile);
  if (built) {
    // Hashed asset names never change content, so browsers may keep them; index.html is revalidated.
    await app.register(fastifyStatic, {
      root: dir,
      prefix: '/',
      wildcard: false,
      index: false,
      setHeaders: (res, path) => {
        res.header(
          'cache-control',
          path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
  }
  const page = built ? readFileSync(indexFile, 'utf8') : notBuiltPage(dir);
  const serveApp = async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (API_PREFIXES.some((p) => path.startsWith(p)) || FILE_LIKE.test(path)) {
      throw new AirclutchError('NOT_FOUND', `no route ${req.method} ${path}: see /openapi.json`);
    }
    return reply
      .code(built ? 200 : 503)
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(page);
  };
  // Pages are not API: they stay out of /openapi.json.
  app.get('/', { schema: { hide: true } }, serveApp);
  app.get('/*', { schema: { hide: true } }, serveApp);
}

function notBuiltPage(dir: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Airclutch: the web UI is not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web UI is not built</h1>
<p>Airclutch is running and its API answers under <a href="/docs">/api/v1</a>, but the browser app was not found in
<code>${escapeHtml(dir)}</code>.</p>
<p>Build it from the repository with <code>npm run build:ui</code> (or <code>npm install &amp;&amp; npm start</code>),
then reload this page.</p>
</body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
