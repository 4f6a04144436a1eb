/**
 * How Airclutch proves who it is to Airflow: a bearer token from Airflow 3's `POST /auth/token`, a
 * bearer token from an OIDC client-credentials grant, or HTTP basic auth (Airflow 2). Tokens are
 * cached and refreshed before they expire; `invalidate()` drops one after a 401 so the next call
 * fetches a fresh one. Secrets come from credential sources and never reach a log or a message.
 * @module
 */
import { decodeJwt } from 'jose';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { AirflowAuthConfig } from './airflow-config.ts';
import { type CredentialSource, credentialSource } from './credential-source.ts';

export interface AirflowAuth {
  /** The `Authorization` header value for the next call. */
  header(): Promise<string>;
  /** Forget the cached token (after a 401). */
  invalidate(): void;
  /** When the cached token expires, if there is one (ms since the epoch), and when it was issued. */
  tokenFacts(): { issuedAt?: number; expiresAt?: number } | undefined;
  readonly kind: AirflowAuthConfig['kind'];
}

export interface AuthDeps {
  baseUrl: string;
  timeoutMs: number;
  now?: () => number;
  rootDir?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * @example
 * const auth = airflowAuth({ kind: 'password', username: 'airclutch', password: { env: 'AIRFLOW_PW' } }, { baseUrl, timeoutMs: 5000 });
 * await fetch(url, { headers: { authorization: await auth.header() } });
 */
export function airflowAuth(cfg: AirflowAuthConfig, deps: AuthDeps): AirflowAuth {
  const now = deps.now ?? Date.now;
  const srcOpts = {
    now,
    ...(deps.rootDir ? { rootDir: deps.rootDir } : {}),
    ...(deps.env ? { env: deps.env } : {}),
  };
  switch (cfg.kind) {
    case 'basic': {
      const pw = credentialSource(cfg.password, srcOpts);
      return {
        kind: 'basic',
        async header() {
          return `Basic ${Buffer.from(`${cfg.username}:${await pw.read()}`).toString('base64')}`;
        },
        invalidate() {},
        tokenFacts: () => undefined,
      };
    }
    case 'password': {
      const pw = credentialSource(cfg.password, srcOpts);
      return new CachedBearer('password', now, async () => {
        const body = JSON.stringify({ username: cfg.username, password: await pw.read() });
        const url = new URL('/auth/token', deps.baseUrl).toString();
        const json = await postForToken(
          url,
          { 'content-type': 'application/json' },
          body,
          deps.timeoutMs,
          pw,
        );
        const token = json.access_token;
        if (typeof token !== 'string') throw authFailed(url, 'answered without an access_token');
        return { token, ...expiryOf(token, undefined, now) };
      });
    }
    case 'client-credentials': {
      const secret = credentialSource(cfg.clientSecret, srcOpts);
      return new CachedBearer('client-credentials', now, async () => {
        const form = new URLSearchParams({ grant_type: 'client_credentials' });
        if (cfg.scope) form.set('scope', cfg.scope);
        if (cfg.audience) form.set('audience', cfg.audience);
        const basic = Buffer.from(
          `${encodeURIComponent(cfg.clientId)}:${encodeURIComponent(await secret.read())}`,
        ).toString('base64');
        const json = await postForToken(
          cfg.tokenUrl,
          { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
          form.toString(),
          deps.timeoutMs,
          secret,
        );
        const token = json.access_token;
        if (typeof token !== 'string') throw authFailed(cfg.tokenUrl, 'answered without an access_token');
        return {
          token,
          ...expiryOf(token, typeof json.expires_in === 'number' ? json.expires_in : undefined, now),
        };
      });
    }
    default: {
      const never: never = cfg;
      throw new TypeError(`unknown Airflow auth kind ${String(never)}`);
    }
  }
}

interface Minted {
  token: string;
  issuedAt: number;
  expiresAt: number | undefined;
}

/** A bearer token, reused until it is close to its expiry (a tenth of its life, at least 30 s, at most 5 min). */
class CachedBearer implements AirflowAuth {
  private current: Minted | undefined;
  private inflight: Promise<Minted> | undefined;

  constructor(
    readonly kind: AirflowAuthConfig['kind'],
    private readonly now: () => number,
    private readonly mint: () => Promise<Minted>,
  ) {}

  async header(): Promise<string> {
    const c = this.current;
    if (c && !this.stale(c)) return `Bearer ${c.token}`;
    // One refresh at a time: a burst of calls shares it.
    this.inflight ??= this.mint().finally(() => {
      this.inflight = undefined;
    });
    this.current = await this.inflight;
    return `Bearer ${this.current.token}`;
  }

  invalidate(): void {
    this.current = undefined;
  }

  tokenFacts(): { issuedAt?: number; expiresAt?: number } | undefined {
    const c = this.current;
    if (!c) return undefined;
    return { issuedAt: c.issuedAt, ...(c.expiresAt === undefined ? {} : { expiresAt: c.expiresAt }) };
  }

  private stale(c: Minted): boolean {
    if (c.expiresAt === undefined) return false;
    const life = c.expiresAt - c.issuedAt;
    const margin = Math.min(300_000, Math.max(30_000, life / 10));
    return this.now() >= c.expiresAt - margin;
  }
}

function expiryOf(
  token: string,
  expiresIn: number | undefined,
  now: () => number,
): { issuedAt: number; expiresAt: number | undefined } {
  const issuedAt = now();
  if (expiresIn !== undefined) return { issuedAt, expiresAt: issuedAt + expiresIn * 1000 };
  try {
    const { exp, iat } = decodeJwt(token);
    return { issuedAt: iat ? iat * 1000 : issuedAt, expiresAt: exp ? exp * 1000 : undefined };
  } catch {
    // An opaque token: no known expiry, so it is used until Airflow answers 401.
    return { issuedAt, expiresAt: undefined };
  }
}

function authFailed(url: string, why: string, cause?: unknown): AirclutchError {
  return new AirclutchError('AIRFLOW_AUTH_FAILED', `the token endpoint ${url} ${why}`, {
    cause,
    details: { url },
  });
}

async function postForToken(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  source: CredentialSource,
): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    throw new AirclutchError(
      timedOut ? 'AIRFLOW_TIMEOUT' : 'AIRFLOW_UNREACHABLE',
      timedOut
        ? `the token endpoint ${url} did not answer within ${timeoutMs} ms`
        : `the token endpoint ${url} cannot be reached: ${describeThrown((e as Error).cause ?? e)}`,
      { cause: e, details: { url } },
    );
  }
  if (res.status === 401 || res.status === 403 || res.status === 400) {
    throw authFailed(
      url,
      `refused the credentials (HTTP ${res.status}): check the secret in ${source.label} and the account's permissions`,
    );
  }
  if (!res.ok) {
    throw new AirclutchError('AIRFLOW_UNREACHABLE', `the token endpoint ${url} answered HTTP ${res.status}`, {
      details: { url, status: res.status },
    });
  }
  try {
    return (await res.json()) as Record<string, unknown>;
  } catch (e) {
    throw authFailed(url, 'answered with a body that is not JSON', e);
  }
}
