/**
 * What the policies of one scope read: context fields, groups, resource attributes. A request then
 * carries only those, because converting entities and context into Cedar is most of a decision's
 * cost. Leaving out what no policy reads cannot change the answer: a group no policy names cannot make
 * `principal in Group::"x"` true, and a context field no policy reads is never evaluated.
 * @module
 */
import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { ACTION_GROUPS, cedarType, ENTITY } from './cedar-names.ts';

export interface ScopeUsage {
  /** Context fields read; `all` when a policy uses `context` as a whole. */
  readonly context: ReadonlySet<string> | 'all';
  /** Group ids named anywhere in the policies. */
  readonly groups: ReadonlySet<string>;
  /** True when a condition reads `resource` (its attributes), not only its scope. */
  readonly resourceAttrs: boolean;
  /**
   * True when a policy names an action group (`Action::"operate"`). Without a schema at request time,
   * Cedar learns that `trigger` is in `operate` only from an `Action` entity passed with the request.
   */
  readonly actionGroups: boolean;
}

/** Collects the usage of a list of policies. */
export function scopeUsage(policies: readonly PolicyJson[]): ScopeUsage {
  const context = new Set<string>();
  const groups = new Set<string>();
  const state = { allContext: false, resourceAttrs: false, actionGroups: false };
  const group = cedarType(ENTITY.group);
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    const uid = (o.__entity ?? o) as { type?: unknown; id?: unknown };
    if (uid.type === group && typeof uid.id === 'string') groups.add(uid.id);
    if (uid.type === 'Action' && typeof uid.id === 'string' && uid.id in ACTION_GROUPS)
      state.actionGroups = true;
    if (o.Var === 'context') state.allContext = true;
    if (o.Var === 'resource') state.resourceAttrs = true;
    for (const op of ['.', 'has'] as const) {
      const access = o[op] as { left?: { Var?: string }; attr?: string | string[] } | undefined;
      if (access?.left?.Var === 'context' && access.attr !== undefined) {
        context.add(Array.isArray(access.attr) ? access.attr[0]! : access.attr);
        return;
      }
    }
    for (const v of Object.values(o)) visit(v);
  };
  for (const p of policies) {
    visit([p.principal, p.action, p.resource]);
    visit(p.conditions);
  }
  return {
    context: state.allContext ? 'all' : context,
    groups,
    resourceAttrs: state.resourceAttrs,
    actionGroups: state.actionGroups,
  };
}
