/** Formats schema violations (Standard Schema / zod issues) as one line each: `- rows: expected number`. @module */

export interface SchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The dotted path of an issue, or `(root)`. */
export function issuePath(issue: SchemaIssue): string {
  const parts = (issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p));
  return parts.length ? parts.join('.') : '(root)';
}

export function formatIssues(issues: readonly SchemaIssue[]): string {
  return issues.map((i) => `- ${issuePath(i)}: ${i.message}`).join('\n');
}
