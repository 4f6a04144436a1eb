/**
 * Audit events for what changes the rules: the policy set (per-file content hashes), the loaded DAGs
 * (their versions), and the configuration. An auditor can tell which policies decided a record by
 * its time and the last `policy.load` before it.
 * @module
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '../audit/audit-types.ts';
import type { AirclutchConfig } from '../config/config-schema.ts';
import type { SourcedDag } from '../engine/engine-types.ts';
import { canonicalJson } from '../lib/canonical-json.ts';
import type { ActivePolicies, LoadResult } from '../policy/policy-store.ts';

const actor = { kind: 'service' as const, id: 'airclutch' };
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A policy load, successful (with each file's hash) or refused (with its problems). */
export function policyLoadEvent(result: LoadResult, active: ActivePolicies | undefined): AuditEvent {
  if (!result.ok) {
    return {
      action: 'policy.load',
      actor,
      source: 'engine',
      outcome: 'refused',
      details: { generation: result.generation, error: result.error.message },
    };
  }
  const files = new Map<string, string[]>();
  for (const p of active?.policies.values() ?? []) {
    const list = files.get(p.file) ?? [];
    list.push(p.text);
    files.set(p.file, list);
  }
  const hashes = Object.fromEntries(
    [...files].sort(([a], [b]) => a.localeCompare(b)).map(([f, texts]) => [f, sha256(texts.join('\n'))]),
  );
  return {
    action: 'policy.load',
    actor,
    source: 'engine',
    outcome: 'loaded',
    details: { generation: result.generation, policies: result.policyCount, files: hashes },
  };
}

/** DAGs added, changed or removed, with their versions (content hashes). */
export function dagChangeEvents(
  kind: 'added' | 'changed' | 'removed',
  dags: readonly Pick<SourcedDag, 'env' | 'dag' | 'version' | 'file'>[],
): AuditEvent[] {
  return dags.map((d) => ({
    action: 'dag.load',
    actor,
    source: 'engine',
    resource: { env: d.env, dagId: d.dag.id, dagVersion: d.version },
    outcome: kind,
    details: { file: d.file },
  }));
}

/** The configuration Airclutch started with: its source and a hash of its effective values. */
export function configEvent(config: AirclutchConfig): AuditEvent {
  // Secrets in the config (HMAC keys, client secrets) are hashed with the rest, never stored.
  return {
    action: 'config.load',
    actor,
    source: 'engine',
    outcome: 'loaded',
    details: { source: config.source, hash: sha256(canonicalJson(config)) },
  };
}
