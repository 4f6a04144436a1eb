/** Time-ordered ids: they sort by creation time, in SQL and in listings. @module */
import { randomBytes } from 'node:crypto';

/** e.g. `mgq3x1k2a-5f1c9e0b7d2a`: base-36 milliseconds, then 48 random bits. */
export function newId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`;
}
