/** Profiling aid: `node --cpu-prof bin/run-ts.js bench/profile-http.ts` (set AIRCLUTCH_BENCH_HTTP_SECONDS). */
import { benchHttp } from './http.ts';

console.log(await benchHttp());
