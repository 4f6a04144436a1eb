/**
 * Addresses of the web UI's pages (ui/src/router.tsx): the links that Slack messages and the CLI
 * print. Every DAG, run and approval request has its own page; people vote on a request's page or
 * in the approvals inbox.
 * @module
 */

export interface UiLinks {
  /** The run page: graph, tasks, logs, and its approval and votes. */
  run(runId: string): string;
  /** The approvals inbox, where people vote. */
  approvals(): string;
  dag(env: string, dagId: string): string;
  /** An approval request's page: what it would do, why it needs approval, its votes, and the vote form. */
  approval(request: { id: string }): string;
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
  return {
    run: (runId) => `${root}/runs/${seg(runId)}`,
    approvals: () => `${root}/approvals`,
    dag: (env, dagId) => `${root}/dags/${seg(env)}/${seg(dagId)}`,
    approval: (request) => `${root}/approvals/${seg(request.id)}`,
  };
}
