/**
 * The Cedar vocabulary of Airclutch in one place: entity types, actions, action groups, sources.
 *
 * Namespace decision: entity types are plain (`User`, `Group`, `Dag`), without a namespace such as
 * `Airclutch::User`. Policies are short and read like DESIGN.md (`principal in Group::"data-eng"`), and
 * Airclutch owns the whole schema, so there is nothing to collide with. Should that change, set
 * `NAMESPACE` here: every entity reference and the schema are built from `cedarType()`.
 * @module
 */

/** The Cedar namespace of every Airclutch entity type; empty means none. */
export const NAMESPACE = '';

/** The entity type names, before the namespace is applied. */
export const ENTITY = {
  user: 'User',
  service: 'Service',
  group: 'Group',
  env: 'Env',
  dag: 'Dag',
  run: 'Run',
  approvalRequest: 'ApprovalRequest',
} as const;

/** `User` or `Airclutch::User`, depending on `NAMESPACE`. */
export function cedarType(name: string): string {
  return NAMESPACE ? `${NAMESPACE}::${name}` : name;
}

/** The actions a request can ask about. */
export const ACTIONS = [
  'view',
  'trigger',
  'requestTrigger',
  'approve',
  'cancel',
  'breakGlass',
  'readLogs',
  'readAudit',
  // Airflow-backed DAGs (docs/airflow.md). In no group: unpausing starts a schedule, clearing re-runs
  // tasks, so each needs its own permit.
  'pause',
  'unpause',
  // Ask for an unpause that needs approval (as requestTrigger is to trigger).
  'requestUnpause',
  'clearTask',
  // Airflow's own administration through the proxy (docs/proxy.md), on the environment: each family
  // has its own action, so reading variables never implies editing them.
  'readVariables',
  'writeVariables',
  'readConnections',
  'writeConnections',
  'readPools',
  'writePools',
  'readConfig',
  'manageUsers',
  'readAirflow',
  'writeAirflow',
] as const;
export type PolicyAction = (typeof ACTIONS)[number];

/**
 * Action groups, so policy writers can say `action in Action::"operate"`. A group is a Cedar action
 * that no request asks about directly; its members are listed here.
 */
export const ACTION_GROUPS = {
  /** Start or stop runs. */
  operate: ['trigger', 'requestTrigger', 'cancel'],
  /** See DAGs, runs and their logs. */
  read: ['view', 'readLogs'],
  /** Everything about Airflow itself rather than one DAG: variables, connections, pools, config, users. */
  airflowAdmin: [
    'readVariables',
    'writeVariables',
    'readConnections',
    'writeConnections',
    'readPools',
    'writePools',
    'readConfig',
    'manageUsers',
    'readAirflow',
    'writeAirflow',
  ],
} as const satisfies Record<string, readonly PolicyAction[]>;

/** Actions about one run of a DAG: their context carries the run's params. */
export const RUN_ACTIONS: ReadonlySet<PolicyAction> = new Set([
  'trigger',
  'requestTrigger',
  'approve',
  'cancel',
  'breakGlass',
  'readLogs',
  'clearTask',
]);

/** Which resource types each action applies to (the schema's `appliesTo`). */
export const ACTION_RESOURCES: Readonly<Record<PolicyAction, readonly (keyof typeof ENTITY)[]>> = {
  view: ['dag', 'run', 'approvalRequest'],
  trigger: ['dag'],
  requestTrigger: ['dag'],
  breakGlass: ['dag'],
  approve: ['approvalRequest'],
  cancel: ['run'],
  readLogs: ['run'],
  readAudit: ['env', 'dag'],
  pause: ['dag'],
  unpause: ['dag'],
  requestUnpause: ['dag'],
  clearTask: ['run'],
  readVariables: ['env'],
  writeVariables: ['env'],
  readConnections: ['env'],
  writeConnections: ['env'],
  readPools: ['env'],
  writePools: ['env'],
  readConfig: ['env'],
  manageUsers: ['env'],
  readAirflow: ['env'],
  writeAirflow: ['env'],
};

/** The actions about Airflow itself (the `airflowAdmin` group), decided on `Env::"<env>"`. */
export type AirflowAdminAction = (typeof ACTION_GROUPS)['airflowAdmin'][number];

/** Where a request came from: `context.source`. */
export const SOURCES = ['api', 'ui', 'cli', 'schedule', 'dag', 'chat', 'bridge'] as const;
export type RequestSource = (typeof SOURCES)[number];

/** True when `action` is `group` or one of its members (for explain's scope checks). */
export function actionIn(action: string, group: string): boolean {
  if (action === group) return true;
  const members = (ACTION_GROUPS as Record<string, readonly string[]>)[group];
  return members?.includes(action) ?? false;
}
