/**
 * The web UI end to end, in a real chromium against a real `airclutch dev`-like server: sign in
 * through the dev IdP, trigger a prod DAG that needs two approvals, approve it as two data leads
 * while the run page updates live, and read every step in the audit view. Then the refusals, axe
 * on each main page, and screenshots of each page in both themes (test/ui/screenshots, not committed).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousAxeViolations } from './axe-violations.ts';
import { BROKEN_DAG, startUiWorld, UI_FILES, type UiWorld } from './ui-world.ts';

/** Waits for the page to catch up: generous, because the machine is shared and slow. */
const eventually = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 60_000, interval: 100 });

const SHOTS = join(import.meta.dirname, 'screenshots');

describe('the web UI in a browser', () => {
  let w: UiWorld;
  let runId = '';

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    w = await startUiWorld({ ...UI_FILES, ...BROKEN_DAG }, { airflow: true });
  }, 300_000);
  afterAll(async () => {
    await w?.close();
  }, 60_000);

  it('lets an engineer ask for a prod run that two data leads approve, shows it going green live, and audits every step', async () => {
    // 1-2. The engineer sees the prod DAG as "needs approval", fills the form and asks.
    const eng = await w.signedIn('eng@example.com');
    const row = eng.page.locator('[data-testid="dag-row"][data-dag="prod/revenue"]');
    await eventually(() => row.getByTestId('access').getAttribute('data-access')).toBe('approval');
    expect(await row.getByTestId('access').textContent()).toBe('needs approval');
    await row.getByTestId('access').hover();
    await eventually(() => eng.page.getByRole('tooltip').textContent()).toContain(
      'needs 2 approvals from data-leads',
    );
    await row.getByRole('link', { name: 'revenue' }).click();
    await eng.page.waitForURL(`${w.base}/dags/prod/revenue`);
    // The what-if line names the quorum and the group policy lets approve.
    await eventually(() => eng.page.getByTestId('what-if').textContent()).toContain(
      'this needs 2 approvals from data-leads',
    );
    await eng.page.locator('#root_rows').fill('5000');
    await eng.page.locator('#root_apiKey').fill('sk-secret-value');
    expect(await eng.page.locator('#root_apiKey').getAttribute('type')).toBe('password');
    await eventually(() => eng.page.getByTestId('what-if').textContent()).toContain(
      'this needs 2 approvals from data-leads',
    );
    await eng.page.getByTestId('trigger-button').click();
    await eng.page.waitForURL(/\/runs\/[^/]+$/);
    runId = new URL(eng.page.url()).pathname.split('/').at(-1)!;
    await eventually(() => eng.page.getByTestId('run-state').getAttribute('data-state')).toBe(
      'awaiting_approval',
    );
    expect(await eng.page.getByTestId('run-params').textContent()).not.toContain('sk-secret-value');
    await eng.context.close();

    // 3. The first lead finds it in the inbox with the exact params, and approves.
    const lead = await w.signedIn('lead@example.com');
    await lead.page.getByRole('link', { name: 'Approvals' }).click();
    const item = lead.page.locator(`[data-testid="approval"]`).filter({ hasText: 'eng@example.com' });
    await eventually(() => item.locator('[data-param="rows"]').getAttribute('data-changed')).toBe('true');
    expect(await item.locator('[data-param="rows"]').textContent()).toContain('5000');
    expect(await item.locator('[data-param="dryRun"]').getAttribute('data-changed')).toBe('false');
    expect(await item.getByTestId('params-hash').textContent()).toMatch(/\S{16,}/);
    await item.getByTestId('approve').click();
    await eventually(() => item.textContent()).toContain('lead@example.com voted approve');
    await lead.context.close();

    // 4. The second lead watches the run page while approving in another tab: it goes green without a reload.
    const lead2 = await w.signedIn('lead2@example.com');
    const watch = lead2.page;
    await watch.goto(`${w.base}/runs/${runId}`);
    await eventually(() => watch.getByTestId('run-state').getAttribute('data-state')).toBe(
      'awaiting_approval',
    );
    const inbox = await lead2.context.newPage();
    await inbox.goto(`${w.base}/approvals`);
    await inbox
      .locator('[data-testid="approval"]')
      .filter({ hasText: 'lead@example.com voted approve' })
      .getByTestId('approve')
      .click();
    await eventually(() => watch.getByTestId('run-state').getAttribute('data-state')).toBe('success');
    await eventually(() => watch.locator('[data-task="load"]').getAttribute('data-state')).toBe('success');
    await eventually(() => watch.getByTestId('logs').textContent()).toContain('extracting 5000 rows');
    // The Gantt chart of attempts: one bar per try, each with its times, and one task's logs alone.
    const attempts = watch.locator('[data-testid="attempt"][data-attempt-state="success"]');
    await eventually(() => attempts.count()).toBe(3);
    expect(await watch.locator('[data-testid="gantt"] .gantt-bar').count()).toBe(3);
    await eventually(() => watch.getByTestId('logs').textContent()).toContain('loaded');
    await watch.getByTestId('log-task-filter').getByRole('radio', { name: 'extract' }).click();
    await eventually(() => watch.getByTestId('logs').textContent()).not.toContain('loaded');
    expect(await watch.getByTestId('logs').textContent()).toContain('extracting 5000 rows');
    await lead2.context.close();

    // 5. The auditor sees every step, and the chain verifies.
    const admin = await w.signedIn('admin@example.com');
    await admin.page.getByRole('link', { name: 'Audit' }).click();
    await eventually(() => admin.page.getByTestId('chain-status').getAttribute('data-ok')).toBe('true');
    await admin.page.getByLabel('DAG').fill('revenue');
    await admin.page.getByRole('button', { name: 'Apply' }).click();
    const actions = async () =>
      admin.page
        .locator('[data-testid="audit-row"]')
        .evaluateAll((rows) =>
          rows.map((r) => `${r.getAttribute('data-action')}:${r.getAttribute('data-outcome')}`),
        );
    await eventually(actions).toEqual(
      expect.arrayContaining([expect.stringMatching(/^trigger:/), expect.stringMatching(/^approve:/)]),
    );
    expect((await actions()).filter((a) => a.startsWith('approve:')).length).toBeGreaterThanOrEqual(2);
    await admin.context.close();
  }, 300_000);

  it('shows a person without access "no" with the reason, disables the trigger, and shows the API refusal when forced', async () => {
    const admin = await w.signedIn('admin@example.com');
    const badge = admin.page
      .locator('[data-testid="dag-row"][data-dag="prod/revenue"]')
      .getByTestId('access');
    await eventually(() => badge.getAttribute('data-access')).toBe('deny');
    expect(await badge.textContent()).toBe('no');
    await badge.hover();
    await eventually(() => admin.page.getByRole('tooltip').textContent()).toContain('refused');
    await admin.page.goto(`${w.base}/dags/prod/revenue`);
    const button = admin.page.getByTestId('trigger-button');
    await eventually(() => button.isDisabled()).toBe(true);
    await eventually(() => admin.page.getByTestId('what-if').textContent()).toContain('refused');
    // Forcing it: the button enabled by hand, as someone editing the page would.
    await button.evaluate((b) => {
      b.removeAttribute('disabled');
      b.removeAttribute('data-disabled');
      (b as unknown as { click(): void }).click();
    });
    await eventually(() => admin.page.getByTestId('api-error-code').textContent()).toBe('POLICY_DENIED');
    expect(await admin.page.getByTestId('api-error').textContent()).toContain('may not trigger');
    await admin.context.close();
  }, 300_000);

  it('shows import errors, and local and Airflow DAGs side by side, each marked by where it runs', async () => {
    const eng = await w.signedIn('eng@example.com');
    const errors = eng.page.locator('[data-testid="import-error"][data-source="local"]');
    await eventually(() => errors.count()).toBeGreaterThan(0);
    expect(await errors.first().textContent()).toContain('dags/broken.ts');
    const local = eng.page.locator('[data-testid="dag-row"][data-dag="prod/revenue"]').getByTestId('runs-on');
    await eventually(() => local.getAttribute('data-runs-on')).toBe('local');
    const remote = eng.page
      .locator('[data-testid="dag-row"][data-dag="ops/crm_sync"]')
      .getByTestId('runs-on');
    await eventually(() => remote.getAttribute('data-runs-on')).toBe('airflow');
    expect(await remote.textContent()).toBe('Airflow');
    await eng.page.goto(`${w.base}/dags/ops/crm_sync`);
    await eventually(() => eng.page.getByTestId('runs-on').getAttribute('data-runs-on')).toBe('airflow');
    // The audit view, to someone who may read none of it: why it is empty, and what would change it.
    await eng.page.getByRole('link', { name: 'Audit' }).click();
    const empty = eng.page.getByText('No records you may read');
    await eventually(() => empty.count()).toBe(1);
    expect(
      await eng.page
        .getByText(/may not readAudit any environment or DAG: .*what would allow it: .*Group::"admins"/)
        .count(),
    ).toBe(1);
    await eng.context.close();
  }, 300_000);

  it('lists the policies loaded for an environment, each with its source, to an audit reader', async () => {
    const admin = await w.signedIn('admin@example.com');
    await admin.page.getByRole('link', { name: 'Policies' }).click();
    const loaded = admin.page.locator('[data-testid="loaded-policy"]');
    await eventually(() => loaded.count()).toBeGreaterThan(5);
    expect(await loaded.first().getAttribute('data-policy')).toMatch(/^policies\/roles\.cedar:\d+$/);
    expect(await admin.page.getByTestId('loaded-policies').textContent()).toContain(
      'data leads approve run requests',
    );
    await admin.context.close();
  }, 300_000);

  it("lets an engineer break glass only deliberately, with a reason, and puts the run in the leads' review inbox", async () => {
    const eng = await w.signedIn('eng@example.com');
    await eng.page.goto(`${w.base}/dags/prod/revenue`);
    await eng.page.getByTestId('break-glass-open').click();
    const submit = eng.page.getByTestId('break-glass-submit');
    expect(await submit.isDisabled()).toBe(true);
    expect(await eng.page.getByRole('dialog').textContent()).toContain('recorded in the audit trail');
    await eng.page
      .getByTestId('break-glass-reason')
      .fill('the revenue dashboard is down for the board meeting');
    await eventually(() => submit.isDisabled()).toBe(false);
    await submit.click();
    await eng.page.waitForURL(/\/runs\/[^/]+$/);
    const breakRun = new URL(eng.page.url()).pathname.split('/').at(-1)!;
    await eventually(() => eng.page.getByText('break-glass', { exact: true }).count()).toBeGreaterThan(0);
    await eng.context.close();

    const lead = await w.signedIn('lead@example.com');
    await lead.page.goto(`${w.base}/approvals`);
    const review = lead.page.locator('[data-testid="review"]').filter({ hasText: 'eng@example.com' });
    await eventually(() => review.count()).toBe(1);
    expect(await review.textContent()).toContain('break-glass review');
    expect(await review.getByRole('link', { name: 'open the run' }).getAttribute('href')).toBe(
      `/runs/${breakRun}`,
    );
    await lead.context.close();
  }, 300_000);

  it("shows an engineer's Airflow unpause request in a lead's open inbox as it is made, and unpauses it once approved", async () => {
    const lead = await w.signedIn('lead@example.com');
    await lead.page.goto(`${w.base}/approvals`);
    await lead.page.getByRole('heading', { name: 'Approvals' }).waitFor();
    const eng = await w.signedIn('eng@example.com');
    const session = (await (await eng.page.request.get(`${w.base}/auth/session`)).json()) as {
      csrfToken: string;
    };
    const asked = await eng.page.request.post(`${w.base}/api/v1/dags/crm_sync/unpause`, {
      data: { env: 'ops' },
      headers: { 'x-csrf-token': session.csrfToken },
    });
    expect(asked.status()).toBe(202);
    await eng.context.close();
    // No reload: the request arrives over the live stream.
    const card = lead.page.locator('[data-testid="approval"][data-action="unpause"]');
    await eventually(() => card.count()).toBe(1);
    expect(await card.textContent()).toContain('unpause crm_sync');
    expect(await card.textContent()).toContain('eng@example.com');
    await card.getByTestId('approve').click();
    await eventually(() => w.airflow!.dags.get('crm_sync')!.is_paused).toBe(false);
    await lead.context.close();
  }, 300_000);

  it('has no serious or critical axe violations on the main pages, in both themes, and screenshots each', async () => {
    const problems: string[] = [];
    for (const scheme of ['light', 'dark'] as const) {
      const { context, page } = await w.signedIn('admin@example.com', { colorScheme: scheme });
      const pages: [string, string, string][] = [
        ['dags', '/', 'dag-table'],
        ['dag', '/dags/prod/revenue', 'trigger-form'],
        ...(runId ? [['run', `/runs/${runId}`, 'run-state'] as [string, string, string]] : []),
        ['approvals', '/approvals', ''],
        ['audit', '/audit', 'chain-status'],
        ['policies', '/policies', ''],
      ];
      for (const [name, path, testId] of pages) {
        await page.goto(`${w.base}${path}`);
        if (testId) await page.getByTestId(testId).first().waitFor();
        else await page.getByRole('heading', { level: 2 }).first().waitFor();
        await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
        for (const v of await seriousAxeViolations(page)) problems.push(`${name} (${scheme}): ${v}`);
      }
      await context.close();
    }
    expect(problems).toEqual([]);
  }, 300_000);
});
