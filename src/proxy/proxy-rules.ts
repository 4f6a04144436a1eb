/**
 * What each Airflow REST operation means to Airclutch: the Cedar action it needs, on which resource,
 * and how the proxy carries it out (forwarded, filtered, or through the gate). Operations are named
 * by their `operationId` in the published documents; both versions share most names. An operation
 * listed in `DENIED` is refused on purpose (with the reason); one in neither table is refused as
 * unmapped. A test checks that every operation of both documents is in one of the two.
 * @module
 */
import type { AirflowAdminAction, PolicyAction } from '../policy/cedar-names.ts';

/** Which items of a list the caller may see, and how the list is paged. */
export type ListKind = 'dags' | 'dagRuns' | 'taskInstances' | 'importErrors' | 'dagStats' | 'dagWarnings';

export type ProxyRule =
  /** Authenticated, no Cedar decision: Airflow serves these without a login too. */
  | { readonly kind: 'public' }
  /** `view` on the DAG named by `{dag_id}`. */
  | { readonly kind: 'dag'; readonly action: 'view' }
  /** An action on the run named by `{dag_id}` and `{dag_run_id}`. */
  | { readonly kind: 'run'; readonly action: 'view' | 'readLogs' }
  /** A list filtered to what the caller may view, paged after filtering. */
  | { readonly kind: 'list'; readonly list: ListKind }
  /** An action about Airflow itself, on `Env::"<env>"`. */
  | { readonly kind: 'admin'; readonly action: AirflowAdminAction; readonly write: boolean }
  /** A trigger through the gate (`trigger` / `requestTrigger`). */
  | { readonly kind: 'trigger' }
  /** A run's state patched to `failed`: the gate's `cancel`. */
  | { readonly kind: 'cancel' }
  /** A DAG's `is_paused` patched: the bridge's `pause` / `unpause`. */
  | { readonly kind: 'pause' }
  /** Task instances cleared: the bridge's `clearTask`. */
  | { readonly kind: 'clear'; readonly scope: 'tasks' | 'run' };

const view = { kind: 'dag', action: 'view' } as const;
const runView = { kind: 'run', action: 'view' } as const;
const logs = { kind: 'run', action: 'readLogs' } as const;
const read = (action: AirflowAdminAction) => ({ kind: 'admin', action, write: false }) as const;
const write = (action: AirflowAdminAction) => ({ kind: 'admin', action, write: true }) as const;

/** Mapped operations, by operation id (v1 and v2). */
export const RULES: Readonly<Record<string, ProxyRule>> = {
  get_version: { kind: 'public' },
  get_health: { kind: 'public' },
  // DAGs.
  get_dags: { kind: 'list', list: 'dags' },
  get_dag: view,
  get_dag_details: view,
  get_tasks: view,
  get_task: view,
  get_dag_versions: view,
  get_dag_version: view,
  get_dag_asset_queued_events: view,
  get_dag_asset_queued_event: view,
  get_dag_dataset_queued_events: view,
  get_dag_dataset_queued_event: view,
  patch_dag: { kind: 'pause' },
  get_dag_stats: { kind: 'list', list: 'dagStats' },
  list_dag_warnings: { kind: 'list', list: 'dagWarnings' },
  get_dag_warnings: { kind: 'list', list: 'dagWarnings' },
  get_import_errors: { kind: 'list', list: 'importErrors' },
  // Runs.
  get_dag_runs: { kind: 'list', list: 'dagRuns' },
  get_list_dag_runs_batch: { kind: 'list', list: 'dagRuns' },
  get_dag_runs_batch: { kind: 'list', list: 'dagRuns' },
  trigger_dag_run: { kind: 'trigger' },
  post_dag_run: { kind: 'trigger' },
  get_dag_run: runView,
  patch_dag_run: { kind: 'cancel' },
  update_dag_run_state: { kind: 'cancel' },
  wait_dag_run_until_finished: runView,
  get_upstream_asset_events: runView,
  get_upstream_dataset_events: runView,
  get_hitl_details: runView,
  clear_dag_run: { kind: 'clear', scope: 'run' },
  post_clear_task_instances: { kind: 'clear', scope: 'tasks' },
  // Task instances of one run.
  get_task_instances: { kind: 'list', list: 'taskInstances' },
  get_task_instances_batch: { kind: 'list', list: 'taskInstances' },
  get_task_instance: runView,
  get_task_instance_dependencies: runView,
  get_extra_links: runView,
  get_mapped_task_instances: runView,
  get_task_instance_tries: runView,
  get_task_instance_try_details: runView,
  get_mapped_task_instance: runView,
  get_task_instance_dependencies_by_map_index: runView,
  get_mapped_task_instance_dependencies: runView,
  get_hitl_detail: runView,
  get_hitl_detail_try_detail: runView,
  get_mapped_task_instance_tries: runView,
  get_mapped_task_instance_try_details: runView,
  // A task's output is as revealing as its log.
  get_log: logs,
  get_external_log_url: logs,
  get_xcom_entries: logs,
  get_xcom_entry: logs,
  // Variables, connections, pools, config, users and roles.
  get_variables: read('readVariables'),
  get_variable: read('readVariables'),
  post_variable: write('writeVariables'),
  post_variables: write('writeVariables'),
  patch_variable: write('writeVariables'),
  delete_variable: write('writeVariables'),
  bulk_variables: write('writeVariables'),
  get_connections: read('readConnections'),
  get_connection: read('readConnections'),
  post_connection: write('writeConnections'),
  patch_connection: write('writeConnections'),
  delete_connection: write('writeConnections'),
  bulk_connections: write('writeConnections'),
  test_connection: write('writeConnections'),
  create_default_connections: write('writeConnections'),
  get_pools: read('readPools'),
  get_pool: read('readPools'),
  post_pool: write('writePools'),
  patch_pool: write('writePools'),
  delete_pool: write('writePools'),
  bulk_pools: write('writePools'),
  get_config: read('readConfig'),
  get_config_value: read('readConfig'),
  get_value: read('readConfig'),
  get_users: read('manageUsers'),
  get_user: read('manageUsers'),
  post_user: write('manageUsers'),
  patch_user: write('manageUsers'),
  delete_user: write('manageUsers'),
  get_roles: read('manageUsers'),
  get_role: read('manageUsers'),
  post_role: write('manageUsers'),
  patch_role: write('manageUsers'),
  delete_role: write('manageUsers'),
  get_permissions: read('manageUsers'),
  // The rest of Airflow: assets, backfills, logs of events, plugins, providers.
  get_assets: read('readAirflow'),
  get_asset_aliases: read('readAirflow'),
  get_asset_alias: read('readAirflow'),
  get_asset_events: read('readAirflow'),
  get_asset: read('readAirflow'),
  get_asset_queued_events: read('readAirflow'),
  get_datasets: read('readAirflow'),
  get_dataset_events: read('readAirflow'),
  get_dataset: read('readAirflow'),
  get_dataset_queued_events: read('readAirflow'),
  list_backfills: read('readAirflow'),
  get_backfill: read('readAirflow'),
  get_dag_tags: read('readAirflow'),
  get_event_logs: read('readAirflow'),
  get_event_log: read('readAirflow'),
  get_import_error: read('readAirflow'),
  get_jobs: read('readAirflow'),
  get_plugins: read('readAirflow'),
  import_errors: read('readAirflow'),
  get_providers: read('readAirflow'),
  get_dag_source: read('readAirflow'),
  cancel_backfill: write('writeAirflow'),
  pause_backfill: write('writeAirflow'),
  delete_asset_queued_events: write('writeAirflow'),
  delete_dag_asset_queued_events: write('writeAirflow'),
  delete_dag_asset_queued_event: write('writeAirflow'),
  delete_dag_dataset_queued_events: write('writeAirflow'),
  delete_dag_dataset_queued_event: write('writeAirflow'),
  delete_dataset_queued_events: write('writeAirflow'),
  reparse_dag_file: write('writeAirflow'),
  create_xcom_entry: write('writeAirflow'),
  update_xcom_entry: write('writeAirflow'),
  delete_xcom_entry: write('writeAirflow'),
};

const START = 'it would start DAG runs outside the gate';

/** Operations refused on purpose, with the reason the refusal gives. */
export const DENIED: Readonly<Record<string, string>> = {
  login: "Airflow's own sign-in: the proxy takes an OIDC bearer token instead",
  logout: "Airflow's own sign-in: the proxy takes an OIDC bearer token instead",
  patch_dags: 'a bulk pause by pattern is not decided per DAG: PATCH /dags/{dag_id} each DAG instead',
  delete_dag: "deleting a DAG's history is not offered through Airclutch",
  delete_dag_run: "deleting a run's history is not offered through Airclutch",
  delete_task_instance: "deleting a task instance's history is not offered through Airclutch",
  favorite_dag: 'favourites are per Airflow user, and every proxied call acts as Airclutch',
  unfavorite_dag: 'favourites are per Airflow user, and every proxied call acts as Airclutch',
  create_backfill: `${START}: use airclutch backfill, which asks the gate for each run`,
  create_backfill_dry_run: 'backfills go through airclutch backfill, which asks the gate for each run',
  unpause_backfill: `${START}: use airclutch backfill, which asks the gate for each run`,
  materialize_asset: `${START}: trigger the producing DAG instead`,
  create_asset_event: `${START} (DAGs scheduled on the asset): trigger them instead`,
  create_dataset_event: `${START} (DAGs scheduled on the dataset): trigger them instead`,
  set_dag_run_note: 'run notes name who requested and approved a run; Airclutch writes them',
  set_task_instance_note: 'task notes are not offered through Airclutch',
  set_mapped_task_instance_note: 'task notes are not offered through Airclutch',
  patch_task_instance: "setting a task's state by hand is not offered: clear a failed task instead",
  patch_mapped_task_instance: "setting a task's state by hand is not offered: clear a failed task instead",
  patch_task_instance_by_map_index:
    "setting a task's state by hand is not offered: clear a failed task instead",
  patch_task_instance_dry_run: "setting a task's state by hand is not offered: clear a failed task instead",
  patch_task_instance_dry_run_by_map_index:
    "setting a task's state by hand is not offered: clear a failed task instead",
  bulk_task_instances: 'setting task states in bulk is not offered: clear a failed task instead',
  post_set_task_instances_state: 'setting task states in bulk is not offered: clear a failed task instead',
  update_hitl_detail:
    "answering a human-in-the-loop task is an approval: it is not offered until Airclutch's approvals decide it",
};

/** The Cedar action an operation's caller needs in its token scopes (`identity.requiredScopes`). */
export function scopeActionOf(rule: ProxyRule | undefined): PolicyAction | 'any' {
  if (!rule) return 'any';
  switch (rule.kind) {
    case 'public':
      return 'any';
    case 'dag':
    case 'run':
      return rule.action;
    case 'list':
      return 'view';
    case 'admin':
      return rule.action;
    case 'trigger':
    case 'clear':
    case 'pause':
      return 'trigger';
    case 'cancel':
      return 'cancel';
    default: {
      const never: never = rule;
      throw new TypeError(`unknown proxy rule ${JSON.stringify(never)}`);
    }
  }
}
