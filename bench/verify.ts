/** Token verification cost with a warm JWKS: an RS256 and an ES256 access token through `OidcTokenVerifier`. @module */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { trustedIssuerSchema } from '../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../src/identity/oidc-token-verifier.ts';
import { startJwksServer } from '../test/identity/helpers/jwks-server.ts';
import { median } from './stats.ts';

const CLAIMS = {
  sub: 'u-1',
  email: 'eng@example.com',
  groups: ['data-eng'],
  aud: 'airclutch',
  client_id: 'airclutch-cli',
  scope: 'openid airclutch:trigger',
};

async function percentiles(
  alg: 'RS256' | 'ES256',
  iterations: number,
): Promise<{ p50: number; p99: number }> {
  const idp = await startJwksServer(alg);
  try {
    const verifier = new OidcTokenVerifier({
      issuers: [trustedIssuerSchema.parse({ issuer: idp.issuer, audiences: ['airclutch'], typ: 'at+jwt' })],
      requiredScopes: { trigger: ['airclutch:trigger'] },
    });
    // Distinct tokens: the verifier remembers a token it verified, and this measures the signature.
    const tokens = await Promise.all(
      Array.from({ length: iterations }, (_, i) => idp.sign({ ...CLAIMS, jti: `bench-${i}` })),
    );
    const opts = { action: 'trigger' };
    for (let i = 0; i < 500; i++)
      await verifier.verify(await idp.sign({ ...CLAIMS, jti: `warm-${i}` }), opts);
    const samples = new Float64Array(iterations);
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      await verifier.verify(tokens[i]!, opts);
      samples[i] = performance.now() - t0;
    }
    samples.sort();
    return {
      p50: samples[Math.floor(iterations * 0.5)]! * 1000,
      p99: samples[Math.floor(iterations * 0.99)]! * 1000,
    };
  } finally {
    await idp.close();
  }
}

/**
 * p99 of one warm verify (µs), each of a token not seen before: the median over five runs of 2,000, for RS256 and
 * ES256; `verify_p99_us` is the better of the two (the issue asks for RS256 or ES256), both are reported.
 *
 * @example
 * const { verify_p99_us } = await benchVerify();
 */
export async function benchVerify(): Promise<{
  verify_p99_us: number;
  verify_p99_rs256_us: number;
  verify_p99_es256_us: number;
  verify_p50_rs256_us: number;
}> {
  const rs: { p50: number; p99: number }[] = [];
  const es: { p50: number; p99: number }[] = [];
  for (let run = 0; run < 5; run++) {
    rs.push(await percentiles('RS256', 2000));
    es.push(await percentiles('ES256', 2000));
  }
  const verify_p99_rs256_us = Math.round(median(rs.map((r) => r.p99)));
  const verify_p99_es256_us = Math.round(median(es.map((r) => r.p99)));
  return {
    verify_p99_us: Math.min(verify_p99_rs256_us, verify_p99_es256_us),
    verify_p99_rs256_us,
    verify_p99_es256_us,
    verify_p50_rs256_us: Math.round(median(rs.map((r) => r.p50))),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  console.log(await benchVerify());
}
