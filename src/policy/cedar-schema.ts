/**
 * The generated Cedar schema (JSON format).
 *
 * Why one schema per DAG: Cedar types each action's context once per schema, and records cannot be
 * open (`additionalAttributes` needs the experimental `partial-validate` feature), so no single schema
 * can type `context.params` for every DAG. Each DAG therefore gets a schema specialised to it, whose run
 * actions carry `params` typed from the DAG's params schema: the DAG's own `.cedar` file is validated
 * against it, and so are its requests. Shared policies (`policies/`) are validated against the generic
 * schema, which has no `params`, so a shared policy that reads params fails validation with a message
 * saying to move the rule beside the DAG. A policy valid under the generic schema stays valid under
 * every specialised one, because the specialised contexts only add `params`.
 * @module
 */
import type { SchemaJson, Type } from '@cedar-policy/cedar-wasm/nodejs';
import {
  ACTION_GROUPS,
  ACTION_RESOURCES,
  ACTIONS,
  cedarType,
  ENTITY,
  NAMESPACE,
  RUN_ACTIONS,
} from './cedar-names.ts';

type Attr = Type<string> & { required?: boolean };

const str: Attr = { type: 'String' };
const long: Attr = { type: 'Long' };
const bool: Attr = { type: 'Boolean' };
const strings: Attr = { type: 'Set', element: { type: 'String' } };
const opt = (t: Attr): Attr => ({ ...t, required: false });
const entity = (name: string): Attr => ({ type: 'Entity', name: cedarType(name) });

/** The context every action carries, whatever the DAG. */
export function baseContextAttributes(): Record<string, Attr> {
  return {
    env: str,
    source: str,
    now: { type: 'Extension', name: 'datetime' },
    /** UTC hour (0–23) and weekday (`mon` … `sun`): Cedar's datetime has no weekday. */
    time: { type: 'Record', attributes: { hour: long, weekday: str } },
    token: {
      type: 'Record',
      attributes: {
        present: bool,
        mfa: bool,
        amr: strings,
        scopes: strings,
        authTime: opt(long),
        authAgeSeconds: opt(long),
      },
    },
  };
}

/**
 * Builds the schema. With `params`, run actions (trigger, approve, …) carry `context.params` of that
 * type; without, there is no `params` at all (the generic schema for shared policies).
 *
 * @example
 * const schema = buildCedarSchema(paramsToCedarType(dag.paramsJsonSchema).type);
 */
export function buildCedarSchema(params?: Type<string>): SchemaJson<string> {
  const principals = [cedarType(ENTITY.user), cedarType(ENTITY.service)];
  const actions: SchemaJson<string>[string]['actions'] = {};
  for (const group of Object.keys(ACTION_GROUPS)) actions[group] = {};
  for (const action of ACTIONS) {
    const attributes = baseContextAttributes();
    if (params && RUN_ACTIONS.has(action)) attributes.params = params;
    const memberOf = Object.entries(ACTION_GROUPS)
      .filter(([, members]) => (members as readonly string[]).includes(action))
      .map(([group]) => ({ id: group }));
    actions[action] = {
      appliesTo: {
        principalTypes: principals,
        resourceTypes: ACTION_RESOURCES[action].map((k) => cedarType(ENTITY[k])),
        context: { type: 'Record', attributes },
      },
      ...(memberOf.length ? { memberOf } : {}),
    };
  }
  const group = [cedarType(ENTITY.group)];
  const dagRef = entity(ENTITY.dag);
  return {
    // Entity type names inside a namespace block are unqualified; the block's key is the namespace.
    [NAMESPACE]: {
      entityTypes: {
        [ENTITY.user]: { memberOfTypes: group, shape: record({ displayName: opt(str) }) },
        [ENTITY.service]: { memberOfTypes: group, shape: record({}) },
        [ENTITY.group]: {},
        [ENTITY.env]: {},
        [ENTITY.dag]: {
          memberOfTypes: [cedarType(ENTITY.env)],
          shape: record({ id: str, env: str, owner: opt(str), owners: strings, tags: strings }),
        },
        [ENTITY.run]: {
          memberOfTypes: [cedarType(ENTITY.dag)],
          shape: record({ dag: dagRef, requestedBy: str, state: opt(str) }),
        },
        [ENTITY.approvalRequest]: {
          memberOfTypes: [cedarType(ENTITY.dag)],
          shape: record({ dag: dagRef, requestedBy: str }),
        },
      },
      actions,
    },
  };
}

function record(attributes: Record<string, Attr>): Type<string> {
  return { type: 'Record', attributes };
}
