/** Near matches for an unknown name ("did you mean …?"), by edit distance and shared prefix. @module */

/**
 * The candidates close to `wanted`, closest first (at most `limit`): a Damerau–Levenshtein distance
 * (case-insensitive) of at most 3 (1 for names of three characters or less), or one name being a
 * prefix of the other, or sharing a prefix of at least 4 characters.
 *
 * @example
 * nearMatches('nightly_revnue', ['nightly_revenue', 'hourly']); // ['nightly_revenue']
 */
export function nearMatches(wanted: string, candidates: Iterable<string>, limit = 5): string[] {
  const w = wanted.toLowerCase();
  const maxDistance = w.length <= 3 ? 1 : 3;
  const scored: { name: string; score: number }[] = [];
  for (const name of new Set(candidates)) {
    const c = name.toLowerCase();
    const distance = editDistance(w, c);
    const prefix = commonPrefix(w, c);
    const related = prefix === Math.min(w.length, c.length) || prefix >= 4;
    if (distance <= maxDistance || related)
      scored.push({ name, score: related ? Math.min(distance, 4) : distance });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((s) => s.name);
}

/**
 * The hint that ends a refusal: `; did you mean a, b?` for near matches, or `''` for none.
 *
 * @example
 * `DAG ${id} not found${didYouMean(nearMatches(id, ids)) || '; this environment has no DAGs'}`
 */
export function didYouMean(suggestions: readonly string[]): string {
  return suggestions.length ? `; did you mean ${suggestions.join(', ')}?` : '';
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
