/**
 * Profiling aid: `node --cpu-prof --cpu-prof-dir=/tmp/prof bin/run-ts.js bench/profile-bridge-trigger.ts`
 * runs the bridge's trigger overhead bench alone (the fake Airflow in its own process).
 */
import { triggerOverhead } from './airflow-bench.ts';

console.log(await triggerOverhead());
