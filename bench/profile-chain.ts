/** Profiling aid: `node --cpu-prof bin/run-ts.js bench/profile-chain.ts [sqlite|postgres]` runs the 40-task chain repeatedly. */
import { benchEngine } from './engine.ts';

const [dialect = 'sqlite'] = process.argv.slice(2);
console.log(await benchEngine(dialect as 'sqlite' | 'postgres', 'chain'));
