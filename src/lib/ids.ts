/** Time-ordered ids: they sort by creation time, in SQL and in listings. @module */
import { randomFillSync } from 'node:crypto';

// One system call fills randomness for many ids: `randomBytes(6)` per id showed up in profiles.
const pool = Buffer.alloc(6 * 1024);
let offset = pool.length;

/** e.g. `mgq3x1k2a-5f1c9e0b7d2a`: base-36 milliseconds, then 48 random bits. */
export function newId(): string {
  if (offset + 6 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const random = pool.toString('hex', offset, offset + 6);
  offset += 6;
  return `${Date.now().toString(36).padStart(9, '0')}-${random}`;
}
