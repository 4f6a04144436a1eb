/** Profiling aid: `node --cpu-prof bin/run-ts.js bench/profile-policy.ts`. */
import { benchPolicy } from './policy.ts';

console.log(await benchPolicy());
