/**
 * Server-side sign-in sessions. The cookie carries a random id; the store keeps its SHA-256, the
 * principal, a CSRF token, and the times that enforce the lifetime and the idle timeout.
 * `DbSessionStore` is the default, on the shared Kysely store (SQLite or PostgreSQL).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/create-db.ts';
import type { Principal } from './principal.ts';

export interface Session {
  readonly principal: Principal;
  readonly csrfToken: string;
  readonly idToken: string | undefined;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface LoginAttempt {
  readonly state: string;
  readonly codeVerifier: string;
  readonly nonce: string;
  readonly returnTo: string;
}

export interface SessionStore {
  /** Creates a session; returns the cookie value. */
  create(
    principal: Principal,
    idToken: string | undefined,
    now: number,
  ): Promise<{ id: string; session: Session }>;
  /** The live session for a cookie value, refreshing its idle clock; undefined when unknown, expired or idle too long. */
  touch(id: string, now: number): Promise<Session | undefined>;
  delete(id: string): Promise<void>;
  saveLogin(attempt: LoginAttempt, now: number): Promise<void>;
  /** Removes and returns a login attempt younger than `maxAgeMs`: each state is usable once. */
  takeLogin(state: string, now: number, maxAgeMs: number): Promise<LoginAttempt | undefined>;
  /** Deletes expired or idle sessions and stale login attempts; returns how many sessions went. */
  purge(now: number, loginMaxAgeMs: number): Promise<number>;
}

const hash = (id: string) => createHash('sha256').update(id).digest('base64url');

/**
 * Sessions in the `sessions` table.
 *
 * @example
 * const sessions = new DbSessionStore(db, { lifetimeSec: 28_800, idleTimeoutSec: 1_800 });
 */
export class DbSessionStore implements SessionStore {
  constructor(
    private readonly db: Db,
    private readonly limits: { lifetimeSec: number; idleTimeoutSec: number },
  ) {}

  async create(principal: Principal, idToken: string | undefined, now: number) {
    const id = randomBytes(32).toString('base64url');
    const session: Session = {
      principal,
      csrfToken: randomBytes(24).toString('base64url'),
      idToken,
      createdAt: now,
      expiresAt: now + this.limits.lifetimeSec * 1000,
    };
    await this.db.kysely
      .insertInto('sessions')
      .values({
        id_hash: hash(id),
        principal: JSON.stringify(principal),
        csrf_token: session.csrfToken,
        issuer: principal.issuer,
        subject: principal.subject,
        id_token: idToken ?? null,
        created_at: now,
        last_seen_at: now,
        expires_at: session.expiresAt,
      })
      .execute();
    return { id, session };
  }

  async touch(id: string, now: number): Promise<Session | undefined> {
    const idleSince = now - this.limits.idleTimeoutSec * 1000;
    // One conditional update: a session past its lifetime or idle timeout is never revived.
    const row = await this.db.kysely
      .updateTable('sessions')
      .set({ last_seen_at: now })
      .where('id_hash', '=', hash(id))
      .where('expires_at', '>', now)
      .where('last_seen_at', '>', idleSince)
      .returning(['principal', 'csrf_token', 'id_token', 'created_at', 'expires_at'])
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      principal: JSON.parse(row.principal) as Principal,
      csrfToken: row.csrf_token,
      idToken: row.id_token ?? undefined,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    };
  }

  async delete(id: string): Promise<void> {
    await this.db.kysely.deleteFrom('sessions').where('id_hash', '=', hash(id)).execute();
  }

  async saveLogin(a: LoginAttempt, now: number): Promise<void> {
    await this.db.kysely
      .insertInto('login_attempts')
      .values({
        state: a.state,
        code_verifier: a.codeVerifier,
        nonce: a.nonce,
        return_to: a.returnTo,
        created_at: now,
      })
      .execute();
  }

  async takeLogin(state: string, now: number, maxAgeMs: number): Promise<LoginAttempt | undefined> {
    const row = await this.db.kysely
      .deleteFrom('login_attempts')
      .where('state', '=', state)
      .returning(['state', 'code_verifier', 'nonce', 'return_to', 'created_at'])
      .executeTakeFirst();
    if (!row || Number(row.created_at) < now - maxAgeMs) return undefined;
    return { state: row.state, codeVerifier: row.code_verifier, nonce: row.nonce, returnTo: row.return_to };
  }

  async purge(now: number, loginMaxAgeMs: number): Promise<number> {
    const idleSince = now - this.limits.idleTimeoutSec * 1000;
    const gone = await this.db.kysely
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', idleSince)]))
      .executeTakeFirst();
    await this.db.kysely
      .deleteFrom('login_attempts')
      .where('created_at', '<', now - loginMaxAgeMs)
      .execute();
    return Number(gone.numDeletedRows);
  }
}
