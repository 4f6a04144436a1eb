/** Profiling aid: `node --cpu-prof bin/run-ts.js bench/profile-trigger.ts` runs gate triggers in a loop. */
import { createWorld, eng } from '../test/helpers/gate-world.ts';

const world = await createWorld('sqlite');
const t = () => world.gate.trigger(world.ctx(eng), { dagId: 'revenue', params: { rows: 10 } });
for (let i = 0; i < 300; i++) await t();
const t0 = performance.now();
for (let i = 0; i < 2000; i++) await t();
console.log('sequential ms/trigger', (performance.now() - t0) / 2000);
const t1 = performance.now();
await Promise.all(Array.from({ length: 2000 }, t));
console.log('concurrent ms/trigger', (performance.now() - t1) / 2000);
await world.dispose();
