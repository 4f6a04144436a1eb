import { describe, expect, it } from 'vitest';
import { publicBaseUrl } from '../../src/http/public-base-url.ts';
import { applyServerEnv, serverConfigSchema } from '../../src/http/server-config.ts';
import { identityConfigSchema } from '../../src/identity/identity-config.ts';

const config = (server: object, identity: object = {}) => ({
  server: serverConfigSchema.parse(server),
  identity: identityConfigSchema.parse(identity),
});

describe('the public URL the web UI links point to', () => {
  it('is server.publicUrl when set, without a trailing slash', () => {
    expect(publicBaseUrl(config({ publicUrl: 'https://ac.example.com/' }), 'http://127.0.0.1:9000')).toBe(
      'https://ac.example.com',
    );
  });

  it('is the sign-in public URL when only that is set, since browsers reach the server there', () => {
    const c = config({}, { session: { publicUrl: 'https://sso-front.example.com' } });
    expect(publicBaseUrl(c, 'http://10.0.0.5:8080')).toBe('https://sso-front.example.com');
  });

  it('is the listen address otherwise, an unspecified address read as loopback', () => {
    expect(publicBaseUrl(config({}), 'http://127.0.0.1:9123')).toBe('http://127.0.0.1:9123');
    expect(publicBaseUrl(config({}), 'http://0.0.0.0:8080')).toBe('http://127.0.0.1:8080');
    expect(publicBaseUrl(config({}), 'http://[::]:8080')).toBe('http://[::1]:8080');
  });

  it('is set by AIRCLUTCH_PUBLIC_URL', () => {
    const server = applyServerEnv({}, { AIRCLUTCH_PUBLIC_URL: 'https://env.example.com' });
    expect(publicBaseUrl(config(server), 'http://127.0.0.1:8080')).toBe('https://env.example.com');
  });
});
