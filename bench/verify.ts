/**
 * Token verification cost with a warm JWKS, through `OidcTokenVerifier`, measured both ways:
 * a fresh token each time (`verify_fresh_*`: many clients, each token seen once, so every call
 * checks a signature) and the same token again (`verify_cached_*`: steady traffic from one client,
 * a verification-cache hit). RS256 is the figure; ES256 is reported beside it.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { startBenchIssuer } from './bench-world.ts';
import { runIfMain } from './main.ts';
import { median } from './stats.ts';

async function percentiles(alg: 'RS256' | 'ES256', iterations: number) {
  const issuer = await startBenchIssuer(alg);
  try {
    const { verifier } = issuer;
    const tokens: string[] = [];
    for (let i = 0; i < iterations; i++) tokens.push(await issuer.token('eng@example.com', ['data-eng']));
    const opts = { action: 'trigger' };
    for (let i = 0; i < 500; i++)
      await verifier.verify(await issuer.token('eng@example.com', ['data-eng']), opts);
    const fresh = new Float64Array(iterations);
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      await verifier.verify(tokens[i]!, opts);
      fresh[i] = (performance.now() - t0) * 1000;
    }
    const cached = new Float64Array(iterations);
    const again = tokens[0]!;
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      await verifier.verify(again, opts);
      cached[i] = (performance.now() - t0) * 1000;
    }
    fresh.sort();
    cached.sort();
    const at = (a: Float64Array, p: number) => a[Math.floor(iterations * p)]!;
    return {
      freshP50: at(fresh, 0.5),
      freshP99: at(fresh, 0.99),
      cachedP50: at(cached, 0.5),
      cachedP99: at(cached, 0.99),
    };
  } finally {
    await issuer.close();
  }
}

/** Medians over five runs of 2,000 verifies each. */
export async function benchVerify(): Promise<Record<string, number>> {
  const rs: Awaited<ReturnType<typeof percentiles>>[] = [];
  const es: Awaited<ReturnType<typeof percentiles>>[] = [];
  for (let run = 0; run < 5; run++) {
    rs.push(await percentiles('RS256', 2000));
    es.push(await percentiles('ES256', 2000));
  }
  const med = (runs: typeof rs, k: keyof (typeof rs)[number]) => Math.round(median(runs.map((r) => r[k])));
  return {
    verify_fresh_p99_us: med(rs, 'freshP99'),
    verify_fresh_p50_us: med(rs, 'freshP50'),
    verify_cached_p99_us: med(rs, 'cachedP99'),
    verify_cached_p50_us: med(rs, 'cachedP50'),
    verify_fresh_p99_es256_us: med(es, 'freshP99'),
  };
}

await runIfMain(import.meta, () => benchVerify());
