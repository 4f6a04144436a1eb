/**
 * Addresses of the web UI's pages (ui/src/router.tsx): the links that Slack messages and the CLI
 * print. The UI has no page per approval request: a run's approval shows on its run page, and
 * people vote in the approvals inbox.
 * @module
 */

export interface UiLinks {
  /** The run page: graph, tasks, logs, and its approval and votes. */
  run(runId: string): string;
  /** The approvals inbox, where people vote. */
  approvals(): string;
  dag(env: string, dagId: string): string;
  /** The page for an approval request: its run's page, or the inbox for a DAG action (no run). */
  approval(request: { run_id: string | null }): string;
}

/**
 * Links under `base` (the server's public URL, or the URL the CLI talks to).
 *
 * @example
 * uiLinks('https://airclutch.example.com').run('r-1'); // 'https://airclutch.example.com/runs/r-1'
 */
export function uiLinks(base: string): UiLinks {
  const root = base.replace(/\/+$/, '');
  const seg = encodeURIComponent;
  const links: UiLinks = {
    run: (runId) => `${root}/runs/${seg(runId)}`,
    approvals: () => `${root}/approvals`,
    dag: (env, dagId) => `${root}/dags/${seg(env)}/${seg(dagId)}`,
    approval: (request) => (request.run_id === null ? links.approvals() : links.run(request.run_id)),
  };
  return links;
}
