import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import {
  effectiveIssuers,
  identityConfigSchema,
  insecureIssuerWarning,
  trustedIssuerSchema,
} from '../../src/identity/identity-config.ts';
import { PrincipalMapper } from '../../src/identity/principal-mapper.ts';
import { configDirs } from '../helpers/config-dir.ts';

const configDir = configDirs();

describe('identity config', () => {
  it('defaults to dev mode, trusting the embedded dev IdP for the airclutch audience', () => {
    const cfg = identityConfigSchema.parse({});
    expect(effectiveIssuers(cfg)).toMatchObject([
      { issuer: 'http://127.0.0.1:4455', audiences: ['airclutch'], typ: 'at+jwt', clockSkewSec: 60 },
    ]);
  });

  it('refuses at load a production config that trusts the dev IdP issuer', async () => {
    const cwd = configDir(
      'identity:\n  mode: production\n  issuers:\n    - issuer: http://127.0.0.1:4455\n      audiences: [airclutch]\n',
    );
    await expect(loadConfig({ cwd, env: {} })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('production mode refuses to trust http://127.0.0.1:4455'),
    });
  });

  it('switches to production with AIRCLUTCH_MODE, which stops trusting the dev IdP', async () => {
    const cwd = configDir(
      'identity:\n  issuers:\n    - issuer: https://idp.example.com\n      audiences: [airclutch]\n',
    );
    const config = await loadConfig({ cwd, env: { AIRCLUTCH_MODE: 'production' } });
    expect(config.identity.mode).toBe('production');
    expect(effectiveIssuers(config.identity).map((i) => i.issuer)).toEqual(['https://idp.example.com']);
  });

  it('refuses HMAC and none in an issuer allow-list', () => {
    const r = trustedIssuerSchema.safeParse({
      issuer: 'https://idp.example.com',
      audiences: ['a'],
      algorithms: ['HS256'],
    });
    expect(r.success).toBe(false);
  });
});

describe('principal rules', () => {
  it('maps a GitHub Actions workload token to a named service by repository and ref', () => {
    const mapper = new PrincipalMapper(
      trustedIssuerSchema.parse({
        issuer: 'https://token.actions.githubusercontent.com',
        audiences: ['airclutch'],
        principals: [
          {
            kind: 'service',
            match: { repository: 'acme/data', ref: 'refs/heads/main' },
            id: 'gha:{repository}',
          },
        ],
      }),
    );
    const p = mapper.map({
      sub: 'repo:acme/data:ref:refs/heads/main',
      repository: 'acme/data',
      ref: 'refs/heads/main',
    });
    expect(p).toMatchObject({ kind: 'service', id: 'gha:acme/data', groups: [] });
    expect(() => mapper.map({ sub: 'x', repository: 'acme/data', ref: 'refs/heads/feature' })).toThrow(
      expect.objectContaining({ code: 'PRINCIPAL_UNMAPPED' }),
    );
  });

  it('reads groups from a namespaced claim or a nested path', () => {
    const namespaced = new PrincipalMapper(
      trustedIssuerSchema.parse({
        issuer: 'https://a.example.com',
        audiences: ['x'],
        claims: { groups: 'https://airclutch.dev/groups' },
      }),
    );
    expect(
      namespaced.map({ sub: 's', email: 'a@example.com', 'https://airclutch.dev/groups': ['admins'] }).groups,
    ).toEqual(['admins']);
    const keycloak = new PrincipalMapper(
      trustedIssuerSchema.parse({
        issuer: 'https://k.example.com',
        audiences: ['x'],
        claims: { groups: ['realm_access', 'roles'] },
      }),
    );
    expect(
      keycloak.map({ sub: 's', email: 'k@example.com', realm_access: { roles: ['data-eng'] } }).groups,
    ).toEqual(['data-eng']);
  });

  it('does not map an unverified email to a person', () => {
    const mapper = new PrincipalMapper(
      trustedIssuerSchema.parse({ issuer: 'https://a.example.com', audiences: ['x'] }),
    );
    expect(() => mapper.map({ sub: 's', email: 'ceo@example.com', email_verified: false })).toThrow(
      expect.objectContaining({ code: 'PRINCIPAL_UNMAPPED' }),
    );
  });
});

describe('webSignIn', () => {
  it('needs a sign-in issuer outside dev mode, and says which setting to fill', async () => {
    const { webSignIn } = await import('../../src/identity/web-sign-in.ts');
    const identity = identityConfigSchema.parse({
      mode: 'production',
      issuers: [{ issuer: 'https://idp.example.com', audiences: ['a'] }],
    });
    expect(() => webSignIn(identity, {} as never, { verify: async () => ({}) as never })).toThrow(
      /identity\.session\.issuer is required/,
    );
  });
});

describe('production issuer guard', () => {
  const production = (issuer: string, extra: Record<string, unknown> = {}) =>
    identityConfigSchema.safeParse({
      mode: 'production',
      issuers: [{ issuer, audiences: ['airclutch'] }],
      ...extra,
    });

  it('refuses every http issuer in production mode, loopback look-alikes included', () => {
    for (const url of [
      'http://127.0.0.1:9000',
      'http://127.0.0.2',
      'http://0.0.0.0',
      'http://[::ffff:127.0.0.1]',
      'http://[::1]:8443',
      'http://localhost.',
      'http://LOCALHOST',
      'http://idp.example.com',
    ]) {
      const r = production(url);
      expect(r.success, url).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(['issuers', 0, 'issuer']);
      expect(r.error?.issues[0]?.message).toContain(`production mode refuses to trust ${url}`);
      expect(r.error?.issues[0]?.message).toContain('must use https, whatever the host');
    }
  });

  it('refuses http discovery, JWKS, session and CLI issuer URLs behind an https issuer', () => {
    const r = identityConfigSchema.safeParse({
      mode: 'production',
      issuers: [
        {
          issuer: 'https://idp.example.com',
          discoveryUrl: 'http://idp.example.com/.well-known/openid-configuration',
          jwksUri: 'http://idp.example.com/keys',
          audiences: ['airclutch'],
        },
      ],
      session: { issuer: 'http://idp.example.com' },
      cli: { issuer: 'http://127.0.0.2' },
    });
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual([
      'issuers.0.discoveryUrl',
      'issuers.0.jwksUri',
      'session.issuer',
      'cli.issuer',
    ]);
  });

  it('accepts https issuers in production with no warning', () => {
    const r = production('https://idp.example.com/');
    expect(r.success).toBe(true);
    expect(insecureIssuerWarning(r.data!)).toBeUndefined();
  });

  it('lets identity.allowInsecureIssuers run production against a local http issuer, with a loud warning', () => {
    const r = production('http://127.0.0.1:9000', { allowInsecureIssuers: true });
    expect(r.success).toBe(true);
    expect(insecureIssuerWarning(r.data!)).toMatch(
      /^INSECURE: identity.allowInsecureIssuers is on in production mode; trusting http issuers http:\/\/127.0.0.1:9000.*tests only/,
    );
    // The switch never lets production trust the embedded dev IdP.
    const dev = production('http://127.0.0.1:4455', { allowInsecureIssuers: true });
    expect(dev.error?.issues[0]?.message).toContain('it is the embedded dev IdP');
  });
});
