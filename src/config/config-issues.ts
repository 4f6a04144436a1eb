/**
 * The config's schema violations as a person reads them. A key the config does not know is refused
 * (a typo such as `engine.concurency` must not leave the default in place unnoticed), and named with
 * the setting it is probably a typo of, or with the settings that level takes.
 * @module
 */
import { z } from 'zod';
import type { SchemaIssue } from '../lib/format-issues.ts';
import { didYouMean, nearMatches } from '../lib/near-matches.ts';
import { configSchema } from './config-schema.ts';

interface JsonNode {
  readonly properties?: Record<string, JsonNode>;
  readonly additionalProperties?: JsonNode | boolean;
  readonly items?: JsonNode;
  readonly anyOf?: readonly JsonNode[];
  readonly oneOf?: readonly JsonNode[];
}

let described: JsonNode | undefined;
/** The config's own JSON Schema, as written (input), made once when a config is refused. */
const configJsonSchema = () =>
  (described ??= z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonNode);

/** A union's alternatives, or the node itself. */
const alternatives = (n: JsonNode): JsonNode[] => {
  const alts = [...(n.anyOf ?? []), ...(n.oneOf ?? [])];
  return alts.length ? alts.flatMap(alternatives) : [n];
};

/** The keys the object at `path` takes. */
function keysAt(path: readonly PropertyKey[]): string[] {
  let nodes = [configJsonSchema()];
  for (const segment of path) {
    nodes = nodes.flatMap(alternatives).flatMap((n) => {
      if (typeof segment === 'number') return n.items ? [n.items] : [];
      const named = n.properties?.[String(segment)];
      if (named) return [named];
      return typeof n.additionalProperties === 'object' ? [n.additionalProperties] : [];
    });
  }
  return [...new Set(nodes.flatMap(alternatives).flatMap((n) => Object.keys(n.properties ?? {})))];
}

/** One issue per unknown key, at its own path, saying what was probably meant. */
export function describeConfigIssues(issues: readonly z.core.$ZodIssue[]): SchemaIssue[] {
  return issues.flatMap((issue): SchemaIssue[] => {
    if (issue.code !== 'unrecognized_keys') return [issue];
    const known = keysAt(issue.path);
    const level = issue.path.length ? issue.path.join('.') : 'the config';
    return issue.keys.map((key) => {
      return {
        path: [...issue.path, key],
        message: `not a setting${didYouMean(nearMatches(key, known, 3)) || `; ${level} takes ${known.join(', ')}`}`,
      };
    });
  });
}
