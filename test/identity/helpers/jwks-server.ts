/**
 * A real OpenID issuer on loopback for verifier tests: discovery plus a JWKS whose keys can be
 * rotated, counting requests so that tests can prove the JWKS is not hammered.
 */

import type { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: webcrypto.CryptoKey;
  readonly publicJwk: Record<string, unknown>;
}

export interface JwksServer {
  readonly issuer: string;
  readonly jwksRequests: () => number;
  readonly discoveryRequests: () => number;
  /** The key new tokens are signed with. */
  current(): SigningKey;
  /** Publishes a new key (kept beside the old ones) and makes it current. */
  rotate(alg?: 'RS256' | 'ES256'): Promise<SigningKey>;
  /** Removes every key but the current one from the JWKS. */
  retireOld(): void;
  sign(
    claims: JWTPayload,
    opts?: { key?: SigningKey; header?: Record<string, unknown>; iat?: number; exp?: number },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function newKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** Starts the issuer on 127.0.0.1 with one key of the given alg. */
export async function startJwksServer(alg: 'RS256' | 'ES256' = 'RS256'): Promise<JwksServer> {
  let keys: SigningKey[] = [await newKey(alg, 'k1')];
  let jwksCount = 0;
  let discoveryCount = 0;
  let issuer = '';
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      discoveryCount++;
      res.end(
        JSON.stringify({
          issuer,
          jwks_uri: `${issuer}/jwks`,
          id_token_signing_alg_values_supported: ['RS256', 'ES256'],
        }),
      );
    } else if (req.url === '/jwks') {
      jwksCount++;
      res.end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let n = 1;
  return {
    issuer,
    jwksRequests: () => jwksCount,
    discoveryRequests: () => discoveryCount,
    current: () => keys[keys.length - 1]!,
    async rotate(a = alg) {
      const k = await newKey(a, `k${++n}`);
      keys = [...keys, k];
      return k;
    },
    retireOld() {
      keys = [keys[keys.length - 1]!];
    },
    async sign(claims, opts = {}) {
      const key = opts.key ?? keys[keys.length - 1]!;
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ iss: issuer, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...opts.header })
        .setIssuedAt(opts.iat ?? now)
        .setExpirationTime(opts.exp ?? now + 300);
      return jwt.sign(key.privateKey);
    },
    close: () =>
      new Promise<void>((r, j) => {
        server.closeAllConnections();
        server.close((e) => (e ? j(e) : r()));
      }),
  };
}
