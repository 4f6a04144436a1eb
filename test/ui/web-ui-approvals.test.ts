/**
 * The web UI's approval request page and Airflow pause/unpause, in a real chromium against a real
 * `airclutch dev`-like server with an Airflow-backed environment (the fake Airflow the bridge tests
 * use): a request at its own address (the link the CLI and Slack print), eligible and ineligible
 * viewers, a DAG the viewer may not see, and pausing or asking to unpause an Airflow DAG with the
 * same what-if line as a trigger. Then axe and screenshots of the new views in both themes.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousAxeViolations } from './axe-violations.ts';
import { startUiWorld, UI_FILES, type UiWorld } from './ui-world.ts';

const eventually = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 60_000, interval: 100 });

const SHOTS = join(import.meta.dirname, 'screenshots');

const AIRFLOW_POLICIES = {
  'policies/airflow.cedar': `
@reason("data leads start and stop Airflow schedules in ops")
permit (principal in Group::"data-leads", action in [Action::"pause", Action::"unpause"], resource in Env::"ops");
@reason("the CRM sync is the data team's own: admins do not see it")
forbid (principal in Group::"admins", action in Action::"read", resource in Dag::"ops/crm_sync");
`,
};

/** Asks for a prod run of revenue as `page`'s person, through the API with its session. */
async function askForRun(base: string, page: Page, params: Record<string, unknown>, note: string) {
  const session = (await (await page.request.get(`${base}/auth/session`)).json()) as { csrfToken: string };
  const res = await page.request.post(`${base}/api/v1/dags/revenue/runs`, {
    data: { env: 'prod', params, note },
    headers: { 'x-csrf-token': session.csrfToken },
  });
  expect(res.status()).toBe(202);
  return (
    (await res.json()) as {
      approval: { id: string; run_id: string; params_hash: string; dag_version: string };
    }
  ).approval;
}

describe('the approval request page and Airflow schedules in a browser', () => {
  let w: UiWorld;
  let unpauseId = '';

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    w = await startUiWorld({ ...UI_FILES, ...AIRFLOW_POLICIES }, { airflow: true });
  }, 300_000);
  afterAll(async () => {
    await w?.close();
  }, 60_000);

  it('shows an approval request at its own address with what it would run and why, and lets an eligible lead vote on what was shown', async () => {
    const eng = await w.signedIn('eng@example.com');
    const asked = await askForRun(w.base, eng.page, { rows: 7000 }, 'month-end close');

    const lead = await w.signedIn('lead@example.com');
    const page = lead.page;
    await page.goto(`${w.base}/approvals/${asked.id}`);
    // A deep link survives a reload.
    await page.reload();
    await page.getByTestId('approval-page').waitFor();
    expect(await page.getByTestId('params-hash').textContent()).toBe(asked.params_hash);
    expect(await page.getByTestId('dag-version').textContent()).toBe(asked.dag_version);
    const rows = page.locator('[data-param="rows"]');
    await eventually(() => rows.getAttribute('data-changed')).toBe('true');
    expect(await rows.textContent()).toContain('7000');
    expect(await page.locator('[data-param="dryRun"]').getAttribute('data-changed')).toBe('false');
    expect(await page.getByTestId('why-approval').textContent()).toContain('two data leads approve it');
    expect(await page.getByTestId('request-policies').textContent()).toMatch(/policies\/roles\.cedar:\d+/);
    expect(await page.getByTestId('request-note').textContent()).toContain('month-end close');
    expect(await page.getByTestId('tally').textContent()).toBe('0 of 2 approvals');
    expect(await page.getByText('eng@example.com').count()).toBeGreaterThan(0);
    expect(await page.getByText(/^expires/).count()).toBe(1);

    await page.getByTestId('vote-comment').fill('looks right');
    await page.getByTestId('approve').click();
    const vote = page.locator('[data-testid="votes"] [data-voter="lead@example.com"]');
    await eventually(() => vote.getAttribute('data-vote')).toBe('approve');
    expect(await vote.textContent()).toContain('“looks right”');
    expect(await page.getByTestId('tally').textContent()).toBe('1 of 2 approvals');
    // The vote carried the hash and version the lead was shown.
    const row = await w.app.db.kysely
      .selectFrom('approval_votes')
      .select(['params_hash', 'dag_version', 'comment'])
      .where('request_id', '=', asked.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      params_hash: asked.params_hash,
      dag_version: asked.dag_version,
      comment: 'looks right',
    });
    // One identity counts once: the page says so instead of offering the buttons again.
    await eventually(() => page.getByTestId('cannot-vote-code').textContent()).toBe(
      'APPROVAL_DUPLICATE_VOTE',
    );
    await lead.context.close();

    // Someone who may see the run but not approve it is told why, with the code a vote would get.
    const admin = await w.signedIn('admin@example.com');
    await admin.page.goto(`${w.base}/approvals/${asked.id}`);
    await eventually(() => admin.page.getByTestId('cannot-vote-code').textContent()).toBe('POLICY_DENIED');
    expect(await admin.page.getByTestId('cannot-vote').textContent()).toContain('may not approve');
    expect(await admin.page.getByTestId('approve').count()).toBe(0);
    await admin.context.close();
    // The requester cannot vote on their own request.
    await eng.page.goto(`${w.base}/approvals/${asked.id}`);
    await eventually(() => eng.page.getByTestId('cannot-vote-code').textContent()).toBe('APPROVAL_SELF_VOTE');
    // The run's page links its request.
    await eng.page.goto(`${w.base}/runs/${asked.run_id}`);
    await eventually(() => eng.page.getByTestId('run-approval-link').getAttribute('href')).toBe(
      `/approvals/${asked.id}`,
    );
    await eng.context.close();

    // The inbox links each request's page; the second lead denies there with a comment.
    const lead2 = await w.signedIn('lead2@example.com');
    await lead2.page.goto(`${w.base}/approvals`);
    const card = lead2.page.locator(`[data-testid="approval"][data-approval="${asked.id}"]`);
    expect(await card.getByTestId('open-request').getAttribute('href')).toBe(`/approvals/${asked.id}`);
    await card.getByTestId('open-request').click();
    await lead2.page.waitForURL(`${w.base}/approvals/${asked.id}`);
    await lead2.page.getByTestId('vote-comment').fill('not at month end');
    await lead2.page.getByTestId('deny').click();
    await eventually(() => lead2.page.getByTestId('approval-state').textContent()).toBe('denied');
    await eventually(() => lead2.page.getByTestId('cannot-vote-code').textContent()).toBe('APPROVAL_CLOSED');
    await lead2.context.close();
  }, 300_000);

  it('lets an engineer ask to unpause a paused Airflow DAG with a reason, after a what-if line that says it needs approval', async () => {
    const eng = await w.signedIn('eng@example.com');
    const paused = eng.page.locator('[data-testid="dag-row"][data-dag="ops/crm_sync"]').getByTestId('paused');
    await paused.click();
    await eng.page.waitForURL(`${w.base}/dags/ops/crm_sync#airflow-schedule`);
    const schedule = eng.page.getByTestId('airflow-schedule');
    expect(await schedule.getAttribute('data-paused')).toBe('true');
    const whatIf = eng.page.getByTestId('pause-what-if');
    await eventually(() => whatIf.getAttribute('data-kind')).toBe('approval');
    expect(await whatIf.textContent()).toContain(
      'this needs 1 approval from data-leads before it is unpaused: engineers may ask to start an Airflow schedule',
    );
    expect(await eng.page.getByTestId('pause-button').textContent()).toBe('Ask to unpause');
    await eng.page.getByTestId('pause-reason').fill('the CRM migration is done');
    await eng.page.getByTestId('pause-button').click();
    await eng.page.waitForURL(/\/approvals\/[^/]+$/);
    unpauseId = new URL(eng.page.url()).pathname.split('/').at(-1)!;
    await eng.page.getByTestId('approval-page').waitFor();
    expect(await eng.page.getByTestId('dag-action').textContent()).toContain('Unpause this Airflow DAG');
    expect(await eng.page.getByTestId('request-note').textContent()).toContain('the CRM migration is done');
    expect(await eng.page.getByTestId('cannot-vote-code').textContent()).toBe('APPROVAL_SELF_VOTE');
    expect(w.airflow!.dags.get('crm_sync')!.is_paused).toBe(true);
    // The reason is in the audit trail with the request.
    const record = await w.app.db.kysely
      .selectFrom('audit_records')
      .select(['details', 'outcome'])
      .where('approval_id', '=', unpauseId)
      .where('action', '=', 'unpause')
      .executeTakeFirstOrThrow();
    expect(record.outcome).toBe('awaiting_approval');
    expect(JSON.parse(record.details!)).toMatchObject({ reason: 'the CRM migration is done' });

    // Someone who may not view the DAG gets the API's refusal, with its code, at the request's link.
    const admin = await w.signedIn('admin@example.com');
    await admin.page.goto(`${w.base}/approvals/${unpauseId}`);
    await eventually(() => admin.page.getByTestId('api-error-code').textContent()).toBe('POLICY_DENIED');
    expect(await admin.page.getByTestId('api-error').textContent()).toContain('may not view');
    expect(await admin.page.getByTestId('approval-page').count()).toBe(0);
    await admin.context.close();

    // A lead approves it on its page; the bridge unpauses the DAG in Airflow.
    const lead = await w.signedIn('lead@example.com');
    await lead.page.goto(`${w.base}/approvals/${unpauseId}`);
    await lead.page.getByTestId('approve').click();
    await eventually(() => w.airflow!.dags.get('crm_sync')!.is_paused).toBe(false);
    await eventually(() => lead.page.getByTestId('delivery').getAttribute('data-delivery')).toBe('done');
    await lead.context.close();

    // Now running: the engineer may not pause it, sees why, and forcing it gets the API's refusal.
    await eng.page.goto(`${w.base}/dags/ops/crm_sync`);
    await eventually(() => eng.page.getByTestId('airflow-schedule').getAttribute('data-paused')).toBe(
      'false',
    );
    await eventually(() => whatIf.getAttribute('data-kind')).toBe('deny');
    expect(await whatIf.textContent()).toContain('refused: ');
    const button = eng.page.getByTestId('pause-button');
    expect(await button.isDisabled()).toBe(true);
    await button.evaluate((b) => {
      b.removeAttribute('disabled');
      b.removeAttribute('data-disabled');
      (b as unknown as { click(): void }).click();
    });
    await eventually(() => eng.page.getByTestId('api-error-code').textContent()).toBe('POLICY_DENIED');
    expect(await eng.page.getByTestId('api-error').textContent()).toContain('may not pause');
    expect(w.airflow!.dags.get('crm_sync')!.is_paused).toBe(false);
    await eng.context.close();
  }, 300_000);

  it('lets a lead whom policy allows pause and unpause an Airflow DAG at once, each with a reason', async () => {
    const lead = await w.signedIn('lead@example.com');
    await lead.page.goto(`${w.base}/dags/ops/crm_sync`);
    const schedule = lead.page.getByTestId('airflow-schedule');
    const whatIf = lead.page.getByTestId('pause-what-if');
    await eventually(() => schedule.getAttribute('data-paused')).toBe('false');
    await eventually(() => whatIf.textContent()).toBe('this will pause it now');
    await lead.page.getByTestId('pause-reason').fill('CRM maintenance window');
    await lead.page.getByTestId('pause-button').click();
    await eventually(() => lead.page.getByTestId('pause-done').textContent()).toBe('Paused in Airflow.');
    expect(w.airflow!.dags.get('crm_sync')!.is_paused).toBe(true);
    await eventually(() => schedule.getAttribute('data-paused')).toBe('true');
    await eventually(() => whatIf.textContent()).toBe('this will unpause it now');
    expect(await lead.page.getByTestId('pause-button').textContent()).toBe('Unpause');
    const record = await w.app.db.kysely
      .selectFrom('audit_records')
      .select(['details', 'outcome'])
      .where('action', '=', 'airflow.pause')
      .where('actor_id', '=', 'lead@example.com')
      .executeTakeFirstOrThrow();
    expect(record.outcome).toBe('paused');
    expect(JSON.parse(record.details!)).toMatchObject({ reason: 'CRM maintenance window' });
    await lead.context.close();
  }, 300_000);

  it('has no serious or critical axe violations on the approval page and the Airflow schedule, in both themes, and screenshots each', async () => {
    const eng = await w.signedIn('eng@example.com');
    const pending = await askForRun(w.base, eng.page, { rows: 1234, dryRun: true }, 'for the screenshots');
    await eng.context.close();
    const problems: string[] = [];
    for (const scheme of ['light', 'dark'] as const) {
      const views: [string, string, string, string][] = [
        ['lead@example.com', 'approval', `/approvals/${pending.id}`, 'vote-form'],
        ['admin@example.com', 'approval-refused', `/approvals/${pending.id}`, 'cannot-vote'],
        ['lead@example.com', 'approval-unpause', `/approvals/${unpauseId}`, 'delivery'],
        ['lead@example.com', 'dag-airflow', '/dags/ops/crm_sync', 'pause-what-if'],
      ];
      for (const [who, name, path, testId] of views) {
        const { context, page } = await w.signedIn(who, { colorScheme: scheme });
        await page.goto(`${w.base}${path}`);
        await page.getByTestId(testId).first().waitFor();
        if (testId === 'pause-what-if')
          await eventually(() => page.getByTestId(testId).getAttribute('data-kind')).not.toBe('pending');
        await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
        for (const v of await seriousAxeViolations(page)) problems.push(`${name} (${scheme}): ${v}`);
        await context.close();
      }
    }
    expect(problems).toEqual([]);
  }, 300_000);
});
