/**
 * `airclutch doctor` for identity: per trusted issuer, checks discovery, JWKS, key algorithms, clock
 * skew against the IdP's `Date` header, token lifetimes and scope settings, each problem with its fix.
 * @module
 */
import { describeThrown } from '../lib/errors.ts';
import { effectiveIssuers, type IdentityConfig, type TrustedIssuerConfig } from './identity-config.ts';
import { discoveryUrlOf } from './issuer-discovery.ts';

export interface DoctorFinding {
  readonly issuer: string;
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string | undefined;
}

/**
 * Runs every check for every trusted issuer.
 *
 * @example
 * for (const f of await identityDoctor(config.identity)) console.log(f.ok ? 'ok' : 'PROBLEM', f.detail, f.fix ?? '');
 */
export async function identityDoctor(
  identity: IdentityConfig,
  now: () => number = Date.now,
): Promise<DoctorFinding[]> {
  const issuers = effectiveIssuers(identity);
  if (issuers.length === 0) {
    return [
      {
        issuer: '(none)',
        check: 'issuers',
        ok: false,
        detail: 'no trusted issuer is configured, so no token can be accepted',
        fix: 'add your IdP under identity.issuers (issuer, audiences), or use identity.mode: dev for the embedded dev IdP',
      },
    ];
  }
  const all = await Promise.all(issuers.map((i) => checkIssuer(i, identity, now)));
  return all.flat();
}

async function checkIssuer(
  cfg: TrustedIssuerConfig,
  identity: IdentityConfig,
  now: () => number,
): Promise<DoctorFinding[]> {
  const out: DoctorFinding[] = [];
  const add = (check: string, ok: boolean, detail: string, fix?: string) =>
    out.push({ issuer: cfg.issuer, check, ok, detail, fix });
  const url = discoveryUrlOf(cfg);
  let meta: Record<string, unknown> | undefined;
  try {
    const sent = now();
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const received = now();
    meta = res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
    add(
      'discovery',
      res.ok,
      `${url} answered HTTP ${res.status}`,
      res.ok ? undefined : 'check the issuer URL, or set discoveryUrl',
    );
    const date = res.headers.get('date');
    if (date) {
      const skewSec = Math.round((Date.parse(date) - (sent + received) / 2) / 1000);
      const ok = Math.abs(skewSec) <= Math.max(1, cfg.clockSkewSec / 2);
      add(
        'clock',
        ok,
        `this host's clock differs from the IdP's by about ${skewSec}s (tolerance ${cfg.clockSkewSec}s)`,
        ok ? undefined : 'sync this host with NTP (timedatectl set-ntp true)',
      );
    }
  } catch (e) {
    add(
      'discovery',
      false,
      `${url} is unreachable: ${describeThrown(e)}`,
      'check the network path and the issuer URL',
    );
  }
  if (meta && meta.issuer !== cfg.issuer) {
    add(
      'issuer',
      false,
      `discovery names issuer ${JSON.stringify(meta.issuer)}, config says ${JSON.stringify(cfg.issuer)}`,
      'copy the issuer exactly, trailing slash included',
    );
  }
  const jwksUri = cfg.jwksUri ?? (typeof meta?.jwks_uri === 'string' ? meta.jwks_uri : undefined);
  if (jwksUri) await checkJwks(jwksUri, cfg, add);
  checkLifetimes(cfg, identity, add);
  checkScopes(cfg, identity, meta, add);
  return out;
}

type Add = (check: string, ok: boolean, detail: string, fix?: string) => void;

async function checkJwks(jwksUri: string, cfg: TrustedIssuerConfig, add: Add): Promise<void> {
  try {
    const res = await fetch(jwksUri, { signal: AbortSignal.timeout(5000) });
    const { keys = [] } = (await res.json()) as {
      keys?: { kty?: string; alg?: string; kid?: string; use?: string }[];
    };
    add(
      'jwks',
      res.ok && keys.length > 0,
      `${jwksUri} has ${keys.length} key(s): ${keys.map((k) => `${k.kid ?? '?'} ${k.alg ?? k.kty}`).join(', ')}`,
    );
    const usable = keys.filter(
      (k) => k.use !== 'enc' && (!k.alg || (cfg.algorithms as string[]).includes(k.alg)),
    );
    add(
      'algorithms',
      usable.length > 0,
      `${usable.length} key(s) usable with the allowed algorithms ${cfg.algorithms.join(', ')}`,
      usable.length > 0
        ? undefined
        : `add the IdP's signing algorithm (${keys.map((k) => k.alg).join(', ')}) to the issuer's algorithms`,
    );
  } catch (e) {
    add(
      'jwks',
      false,
      `${jwksUri} is unreachable or not a JWKS: ${describeThrown(e)}`,
      'check the jwks_uri in discovery, or set jwksUri',
    );
  }
}

function checkLifetimes(cfg: TrustedIssuerConfig, identity: IdentityConfig, add: Add): void {
  const life = cfg.tokenLifetimeSec;
  if (life === undefined) {
    add('token lifetime', true, 'tokenLifetimeSec is not set; expiry messages use exp - iat instead');
    return;
  }
  const ok = life <= 3600 && life <= identity.session.lifetimeSec;
  add(
    'token lifetime',
    ok,
    `access tokens live ${life}s; sessions live ${identity.session.lifetimeSec}s`,
    ok ? undefined : 'shorten the access token lifetime at the IdP (5-60 minutes) and rely on refresh',
  );
}

function checkScopes(
  cfg: TrustedIssuerConfig,
  identity: IdentityConfig,
  meta: Record<string, unknown> | undefined,
  add: Add,
): void {
  add('audience', true, `tokens must be for one of ${cfg.audiences.join(', ')}`);
  const needed = [...new Set(Object.values(identity.requiredScopes).flat())];
  const supported = Array.isArray(meta?.scopes_supported) ? (meta.scopes_supported as string[]) : undefined;
  if (needed.length === 0 || !supported) return;
  const unknown = needed.filter((s) => !supported.includes(s));
  add(
    'scopes',
    unknown.length === 0,
    unknown.length
      ? `required scopes ${unknown.join(', ')} are not in the IdP's scopes_supported`
      : `required scopes ${needed.join(', ')} are offered`,
    unknown.length
      ? 'define these scopes at the IdP for the Airclutch API, or change identity.requiredScopes'
      : undefined,
  );
}
