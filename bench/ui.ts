/**
 * The web UI in chromium (playwright-core, /usr/bin/chromium) against an in-process `airclutch dev`:
 * - `ui_js_gzip_kb`: the JavaScript the first page (the DAG list) loads, gzipped;
 * - `ui_dags_1k_ms`: the DAG list with 1,000 DAGs, from navigation to the list rendered with all
 *   1,000 in it (rows are virtualised: those in view are in the DOM; the run checks that scrolling to
 *   the end shows the 1,000th). The list answer is served to the page by the browser, so this
 *   measures the UI, not DAG loading;
 * - `ui_run_live_ms`: a task's state change in the engine to the run page showing it (SSE, same clock).
 * Each is the median of several repetitions.
 */
import { gzipSync } from 'node:zlib';
import { startUiWorld } from '../test/ui/ui-world.ts';
import { runIfMain } from './main.ts';
import { median } from './stats.ts';

const SLOW_DAG = `
import { dag } from 'airclutch';
const d = dag({ id: 'steps', maxActiveRuns: 100 });
let prev;
for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) {
  // The first task gives the run page time to load: only changes after it is watching are measured.
  const ms = id === 'a' ? 5000 : 300;
  const t = d.task(id, prev ? { after: [prev] } : {}, async () => { await new Promise((r) => setTimeout(r, ms)); return id; });
  prev = t;
}
export default d;
`;
const POLICY = `
permit (principal in Group::"data-eng", action, resource);
`;

export async function benchUi(): Promise<Record<string, number>> {
  const w = await startUiWorld({ 'dags/steps.ts': SLOW_DAG, 'policies/all.cedar': POLICY });
  try {
    const { context, page } = await w.signedIn('eng@example.com');

    // 1. JavaScript of the first page.
    const js: number[] = [];
    for (let i = 0; i < 3; i++) {
      let bytes = 0;
      const cdp = await context.newPage();
      const pending: Promise<void>[] = [];
      cdp.on('response', (r) => {
        if (r.request().resourceType() === 'script')
          pending.push(
            r.body().then((b) => {
              bytes += gzipSync(b).length;
            }),
          );
      });
      await cdp.goto(`${w.base}/`);
      await cdp.getByTestId('dag-table').waitFor();
      await Promise.all(pending);
      js.push(bytes / 1024);
      await cdp.close();
    }

    // 2. 1,000 DAGs.
    const real = (await (await page.request.get(`${w.base}/api/v1/dags`)).json()) as {
      dags: Record<string, unknown>[];
    };
    const template = real.dags[0]!;
    const many = Array.from({ length: 1_000 }, (_, i) => ({
      ...template,
      dagId: `dag_${String(i).padStart(4, '0')}`,
      env: i % 2 ? 'prod' : 'dev',
      tags: ['bench', `team-${i % 7}`],
      owner: `team-${i % 7}`,
      schedule: i % 3 ? '0 2 * * *' : null,
      trigger: (['allow', 'approval', 'deny'] as const)[i % 3],
    }));
    const body = JSON.stringify({ dags: many });
    await page.route('**/api/v1/dags', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body }),
    );
    const list: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto(`${w.base}/approvals`);
      await page.getByRole('heading', { name: 'Approvals' }).waitFor();
      const t0 = Date.now();
      await page.getByRole('link', { name: 'DAGs', exact: true }).click();
      await page.locator('[data-testid="dag-table"][data-rows="1000"] [data-dag="dev/dag_0000"]').waitFor();
      list.push(Date.now() - t0);
      // Not timed: the virtual list reaches the last of the 1,000 when scrolled to the end.
      await page.evaluate(() => {
        const g = globalThis as unknown as { scrollTo(x: number, y: number): void; document: any };
        g.scrollTo(0, g.document.body.scrollHeight);
      });
      await page.locator('[data-dag="prod/dag_0999"]').waitFor();
    }
    await page.unroute('**/api/v1/dags');

    // 3. Engine change to the run page showing it.
    const live: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await page.request.post(`${w.base}/api/v1/dags/steps/runs`, {
        data: { env: 'dev' },
        headers: { 'x-csrf-token': await csrf(page) },
      });
      const { run } = (await res.json()) as { run: { id: string } };
      await page.goto(`${w.base}/runs/${run.id}`);
      await page.getByTestId('run-state').waitFor();
      // The page is loaded once its lazy parts (the graph, the Gantt chart) have drawn.
      await page.locator('.react-flow__node').first().waitFor();
      await page.getByTestId('gantt').or(page.getByText('No attempt has started yet')).first().waitFor();
      const changed = new Map<string, number>();
      const onTask = (e: { runId: string; taskId: string; state: string }) => {
        if (e.runId === run.id) changed.set(`${e.taskId}:${e.state}`, Date.now());
      };
      w.app.engine.on('task', onTask);
      await page.evaluate(() => {
        const seen: Record<string, number> = {};
        (globalThis as unknown as { __seen: Record<string, number> }).__seen = seen;
        const doc = (globalThis as unknown as { document: any }).document;
        new (globalThis as unknown as { MutationObserver: any }).MutationObserver(() => {
          for (const el of doc.querySelectorAll('[data-task]')) {
            const key = `${el.getAttribute('data-task')}:${el.getAttribute('data-state')}`;
            seen[key] ??= Date.now();
          }
        }).observe(doc.body, { subtree: true, childList: true, attributes: true });
      });
      const watching = Date.now();
      await page.locator('[data-task="f"][data-state="success"]').waitFor({ timeout: 60_000 });
      w.app.engine.off('task', onTask);
      const seen = await page.evaluate(
        () => (globalThis as unknown as { __seen: Record<string, number> }).__seen,
      );
      for (const [key, at] of changed)
        if (seen[key] !== undefined && key.endsWith(':success') && at > watching) live.push(seen[key] - at);
    }
    await context.close();
    return {
      ui_js_gzip_kb: Math.round(median(js)),
      ui_dags_1k_ms: Math.round(median(list)),
      ui_run_live_ms: Math.round(median(live)),
    };
  } finally {
    await w.close();
  }
}

async function csrf(page: import('playwright-core').Page): Promise<string> {
  const res = await page.request.get(page.url().replace(/^(https?:\/\/[^/]+).*$/, '$1/auth/session'));
  return ((await res.json()) as { csrfToken: string }).csrfToken;
}

await runIfMain(import.meta, () => benchUi());
