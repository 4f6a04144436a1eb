/**
 * What the policies of one scope read: context fields (and which of their attributes), groups,
 * resource attributes. A request then carries only those, because converting entities and context
 * into Cedar is most of a decision's cost: every JSON value crossing into the wasm module costs a few
 * microseconds. Leaving out what no policy reads cannot change the answer: a group no policy names
 * cannot make `principal in Group::"x"` true, and a context attribute no policy reads is never evaluated.
 * @module
 */
import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { ACTION_GROUPS, cedarType, ENTITY } from './cedar-names.ts';

/** Which attributes of one context field are read: some by name, or `all` when the field is used whole. */
export type FieldUse = ReadonlySet<string> | 'all';

export interface ScopeUsage {
  /** Context fields read, each with the attributes read of it; `all` when a policy uses `context` whole. */
  readonly context: ReadonlyMap<string, FieldUse> | 'all';
  /** Group ids named anywhere in the policies. */
  readonly groups: ReadonlySet<string>;
  /** True when a condition reads `resource` (its attributes), not only its scope. */
  readonly resourceAttrs: boolean;
  /** True when a scope tests the resource's ancestors (`resource in Env::"prod"`), so its entities must be sent. */
  readonly resourceAncestors: boolean;
  /** True when a condition reads `principal` (its attributes or ancestors), not only its scope. */
  readonly principalRead: boolean;
  /**
   * True when a policy names an action group (`Action::"operate"`). Without a schema at request time,
   * Cedar learns that `trigger` is in `operate` only from an `Action` entity passed with the request.
   */
  readonly actionGroups: boolean;
}

/** Collects the usage of a list of policies. */
export function scopeUsage(policies: readonly PolicyJson[]): ScopeUsage {
  const context = new Map<string, Set<string> | 'all'>();
  const groups = new Set<string>();
  const state = {
    allContext: false,
    resourceAttrs: false,
    resourceAncestors: false,
    principalRead: false,
    actionGroups: false,
  };
  const group = cedarType(ENTITY.group);
  const read = (path: readonly string[]): void => {
    const [field, attr] = path;
    if (field === undefined) return;
    const known = context.get(field);
    if (attr === undefined) context.set(field, 'all');
    else if (known === undefined) context.set(field, new Set([attr]));
    else if (known !== 'all') known.add(attr);
  };
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
    if (o.Var === 'principal') state.principalRead = true;
    // The outermost access of a chain is met first: `context.token.mfa` reads `mfa` of `token` only.
    const path = contextPath(o);
    if (path) read(path);
    else for (const v of Object.values(o)) visit(v);
  };
  for (const p of policies) {
    const r = p.resource;
    if (r.op === 'in' || (r.op === 'is' && r.in)) state.resourceAncestors = true;
    visit([p.principal, p.action, p.resource]);
    visit(p.conditions);
  }
  return {
    context: state.allContext ? 'all' : context,
    groups,
    resourceAttrs: state.resourceAttrs,
    resourceAncestors: state.resourceAncestors,
    principalRead: state.principalRead,
    actionGroups: state.actionGroups,
  };
}

/** `["token", "mfa"]` for `context.token.mfa` or `context has token.mfa`; undefined for other nodes. */
function contextPath(o: Record<string, unknown>): string[] | undefined {
  for (const op of ['.', 'has'] as const) {
    const access = o[op] as { left?: unknown; attr?: string | string[] } | undefined;
    if (!access || typeof access.left !== 'object' || access.left === null || access.attr === undefined)
      continue;
    const left = access.left as Record<string, unknown>;
    const base = left.Var === 'context' ? [] : contextPath(left);
    if (!base) return undefined;
    return [...base, ...(Array.isArray(access.attr) ? access.attr : [access.attr])];
  }
  return undefined;
}
