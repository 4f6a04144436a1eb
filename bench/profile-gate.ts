/** Profiling aid: `node --cpu-prof bin/run-ts.js bench/profile-gate.ts`. */
import { benchGate } from './gate.ts';

console.log(await benchGate());
