/** The hash that binds approvals and audit records to an exact set of params. @module */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/** SHA-256 over the RFC 8785 canonical JSON of the params: key order does not matter. */
export function paramsHash(params: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(params ?? {}))
    .digest('hex');
}
