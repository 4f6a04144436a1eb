/**
 * Sign-in for people: `/auth/login`, `/auth/callback`, `/auth/logout` and `/auth/session`, with a
 * server-side session in an HttpOnly, SameSite=Lax cookie (Secure except on localhost) and a CSRF
 * token required on every state-changing request that rides on the cookie.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { actorOf } from '../audit/actor-of.ts';
import type { AuditLog } from '../audit/audit-types.ts';
import { localReturnPath } from '../identity/local-return-path.ts';
import type { OidcLogin } from '../identity/oidc-login.ts';
import type { Session, SessionStore } from '../identity/session-store.ts';
import { AirclutchError, isAirclutchError } from '../lib/errors.ts';

export interface SessionPluginOptions {
  readonly login: OidcLogin;
  readonly store: SessionStore;
  /** Public URL of this server; decides the Secure flag and the post-logout redirect. */
  readonly publicUrl: string;
  readonly cookieName?: string;
  readonly now?: () => number;
  /** Sign-ins, successful and failed, are recorded here. */
  readonly audit?: AuditLog | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in person's session, when the request carries a live session cookie. */
    session: Session | undefined;
  }
}

const LOGIN_COOKIE = 'airclutch_login';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Registers the sign-in routes and the session/CSRF hooks on the root instance.
 *
 * @example
 * await app.register(sessionPlugin, { login, store, publicUrl: 'http://127.0.0.1:8080' });
 */
export async function sessionPlugin(app: FastifyInstance, opts: SessionPluginOptions): Promise<void> {
  const now = opts.now ?? Date.now;
  const name = opts.cookieName ?? 'airclutch_session';
  const publicUrl = new URL(opts.publicUrl);
  const secure = !['localhost', '127.0.0.1', '[::1]'].includes(publicUrl.hostname);
  const cookieBase = { httpOnly: true, sameSite: 'lax', secure, path: '/' } as const;
  if (!app.hasDecorator('parseCookie')) await app.register(cookie);
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) await app.register(formbody);
  app.decorateRequest('session', undefined);

  app.addHook('onRequest', async (req) => {
    const id = req.cookies[name];
    req.session = id ? await opts.store.touch(id, now()) : undefined;
  });
  app.addHook('preHandler', async (req) => {
    if (!UNSAFE.has(req.method) || !req.session) return;
    const sent =
      (req.headers['x-csrf-token'] as string | undefined) ??
      (req.body as Record<string, unknown> | undefined)?._csrf;
    if (!sameSecret(sent, req.session.csrfToken)) {
      throw new AirclutchError(
        'CSRF_INVALID',
        'this form post needs the CSRF token of your session (field _csrf or header x-csrf-token); reload the page and try again',
      );
    }
  });

  app.get('/auth/login', async (req, reply) => {
    const returnTo = localReturnPath((req.query as { returnTo?: unknown }).returnTo, publicUrl);
    const { url, state } = await opts.login.begin(returnTo, now());
    reply.setCookie(LOGIN_COOKIE, state, { ...cookieBase, maxAge: 600 });
    return reply.redirect(url);
  });

  app.get('/auth/callback', async (req, reply) => {
    const url = new URL(req.url, publicUrl);
    try {
      const done = await opts.login.complete(url, req.cookies[LOGIN_COOKIE], now());
      const { id, session } = await opts.store.create(done.principal, done.idToken, now());
      await opts.audit?.append([
        {
          action: 'signin',
          actor: actorOf(done.principal),
          source: 'ui',
          requestId: req.id,
          outcome: 'signed_in',
        },
      ]);
      reply.clearCookie(LOGIN_COOKIE, cookieBase);
      reply.setCookie(name, id, { ...cookieBase, expires: new Date(session.expiresAt) });
      return reply.redirect(localReturnPath(done.returnTo, publicUrl));
    } catch (e) {
      await opts.audit
        ?.append([
          {
            action: 'signin',
            source: 'ui',
            requestId: req.id,
            outcome: 'failed',
            details: { code: isAirclutchError(e) ? e.code : 'INTERNAL' },
          },
        ])
        .catch(() => {});
      return problem(reply, e);
    }
  });

  app.post('/auth/logout', async (req, reply) => {
    const id = req.cookies[name];
    const idToken = req.session?.idToken;
    if (id) await opts.store.delete(id);
    reply.clearCookie(name, cookieBase);
    const idpLogout = await opts.login
      .logoutUrl(idToken, new URL('/', publicUrl).href)
      .catch(() => undefined);
    return reply.redirect(idpLogout ?? '/', 303);
  });

  app.get('/auth/session', async (req, reply) => {
    if (!req.session)
      return problem(
        reply,
        new AirclutchError(
          'SESSION_INVALID',
          'not signed in, or the session expired; sign in at /auth/login',
        ),
      );
    const { principal, csrfToken, expiresAt } = req.session;
    return { principal, csrfToken, expiresAt };
  });
}
// Registered on the caller's instance, not an encapsulated child: the session hooks must cover every route.
(sessionPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

function sameSecret(sent: unknown, expected: string): boolean {
  if (typeof sent !== 'string' || sent.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
}

function problem(reply: FastifyReply, e: unknown): FastifyReply {
  const err = isAirclutchError(e)
    ? e
    : new AirclutchError('INTERNAL', 'sign-in failed unexpectedly', { cause: e });
  return reply.code(err.status).type('application/problem+json').send(err.toProblem());
}
