/**
 * `airclutch dev` as the web UI meets it, in process: the same startup the dev command runs (dev
 * IdP, store, engine, HTTP server with browser sign-in and the built UI) on free ports, with DAG
 * files and policies written to a temp folder. Plus chromium, driven by playwright-core.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createLogger } from '../../src/app/create-logger.ts';
import { type AirclutchApp, startAirclutch } from '../../src/app/start-airclutch.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { type RunningHttp, startHttp } from '../../src/http/start-http.ts';
import type { DevIdp } from '../../src/identity/dev-idp.ts';
import { startConfiguredDevIdp } from '../../src/identity/start-configured-dev-idp.ts';
import { defaultUiDir, packageRoot } from '../../src/ui/ui-plugin.ts';
import { FakeAirflow } from '../airflow/fake-airflow.ts';
import { freePort } from '../helpers/free-port.ts';

export const UI_FILES: Record<string, string> = {
  'dags/revenue.ts': `
import { dag } from 'airclutch';
import { z } from 'zod';
const d = dag({ id: 'revenue', owner: 'data-eng', tags: ['finance'], description: 'Daily revenue',
  approvals: { quorum: 2, expiresAfterMs: 3_600_000 },
  params: z.object({ rows: z.number().int().min(1).default(1000), dryRun: z.boolean().default(false),
    apiKey: z.string().optional().meta({ sensitive: true }) }) });
const a = d.task('extract', (ctx) => { ctx.log('extracting ' + ctx.params.rows + ' rows'); return { rows: ctx.params.rows }; });
const b = d.task('transform', { after: [a] }, (ctx) => ctx.upstream(a).rows * 2);
d.task('load', { after: [b] }, (ctx) => { ctx.log('loaded'); return ctx.upstream(b); });
export default d;
`,
  'policies/roles.cedar': `
@reason("engineers, leads and admins see DAGs, runs and logs")
permit (principal in Group::"data-eng", action in Action::"read", resource);
permit (principal in Group::"data-leads", action in Action::"read", resource);
permit (principal in Group::"admins", action in Action::"read", resource);
@reason("engineers operate DAGs in dev")
permit (principal in Group::"data-eng", action in Action::"operate", resource) when { context.env == "dev" };
@reason("in prod, engineers ask for a run; two data leads approve it")
permit (principal in Group::"data-eng", action == Action::"requestTrigger", resource in Env::"prod");
@reason("data leads approve run requests")
permit (principal in Group::"data-leads", action == Action::"approve", resource);
@reason("engineers on call may break glass in prod, reviewed afterwards")
permit (principal in Group::"data-eng", action == Action::"breakGlass", resource) when { context.env == "prod" };
@reason("engineers may ask to start an Airflow schedule")
permit (principal in Group::"data-eng", action == Action::"requestUnpause", resource);
@reason("admins read the audit trail")
permit (principal in Group::"admins", action == Action::"readAudit", resource);
`,
};

/** A file in the DAG folder that does not compile: the DAG list shows it as an import error. */
export const BROKEN_DAG = {
  'dags/broken.ts': "import { dag } from 'airclutch';\nexport default dag({ id: 'broken', ;\n",
};

export interface UiWorld {
  readonly base: string;
  /** The fake Airflow behind the `ops` environment, when the world was started with `airflow: true`. */
  readonly airflow: FakeAirflow | undefined;
  readonly app: AirclutchApp;
  readonly browser: Browser;
  /** A fresh browser profile (cookies of its own), signed in as `email` through the dev IdP. */
  signedIn(
    email: string,
    options?: { colorScheme?: 'light' | 'dark' },
  ): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/** Builds the UI once when `dist/web` is missing, as `npm run build:ui` does. */
export function ensureUiBuilt(): void {
  if (existsSync(join(defaultUiDir(), 'index.html'))) return;
  execFileSync('npm', ['run', 'build:ui'], { cwd: packageRoot(), stdio: 'inherit' });
}

export async function startUiWorld(
  files: Record<string, string> = UI_FILES,
  options: { airflow?: boolean } = {},
): Promise<UiWorld> {
  ensureUiBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-ui-'));
  // An environment backed by Airflow (the fake one, checked against Airflow's OpenAPI documents),
  // beside the local ones: its DAG sits in the same list, marked as running on Airflow.
  const fake = options.airflow ? await FakeAirflow.start({ api: 'v2' }) : undefined;
  fake?.addDag({
    dag_id: 'crm_sync',
    description: 'Syncs the CRM (an Airflow DAG)',
    owners: ['data-eng'],
    tags: ['crm'],
    schedule: '0 4 * * *',
    is_paused: true,
    tasks: ['pull', 'push'],
    params: {},
  });
  if (fake) {
    mkdirSync(join(dir, 'secrets'), { recursive: true });
    writeFileSync(join(dir, 'secrets', 'airflow-password'), `${fake.credentials.password}\n`);
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const [port, idpPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const folders = { dags: ['dags'], policies: ['policies'] };
  const config = await loadConfig({
    cwd: dir,
    env: {},
    overrides: {
      dataDir: '.airclutch',
      defaultEnv: 'dev',
      environments: {
        dev: folders,
        prod: folders,
        ...(fake
          ? {
              ops: {
                policies: ['policies'],
                approvals: { quorum: 1 },
                airflow: {
                  baseUrl: fake.url,
                  api: 'v2',
                  auth: {
                    kind: 'password',
                    username: fake.credentials.username,
                    password: { file: 'secrets/airflow-password' },
                  },
                },
              },
            }
          : {}),
      },
      identity: { mode: 'dev', devIdp: { port: idpPort }, session: { publicUrl: base } },
      server: { host: '127.0.0.1', port },
    },
  });
  const log = createLogger({ level: 'silent' });
  let idp: DevIdp | undefined;
  let app: AirclutchApp | undefined;
  let http: RunningHttp | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await http?.close();
    await app?.stop();
    await idp?.close();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    idp = await startConfiguredDevIdp(config, { quiet: true });
    app = await startAirclutch(config, { dev: true, log });
    if (fake) {
      // The catalogue's first refresh, and the policies recompiled with its DAG, before any page asks.
      await app.airflow!.catalogs.get('ops')!.refresh();
      await app.policies.load();
    }
    http = await startHttp(app, log);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  } catch (e) {
    await close();
    throw e;
  }
  const b = browser;
  return {
    base,
    airflow: fake,
    app,
    browser: b,
    async signedIn(email, options = {}) {
      const context = await b.newContext({
        colorScheme: options.colorScheme ?? 'light',
        viewport: { width: 1400, height: 1000 },
      });
      context.setDefaultTimeout(60_000);
      const page = await context.newPage();
      await page.goto(`${base}/`);
      await page.getByRole('link', { name: 'Sign in' }).click();
      // oidc-provider's dev interactions: the login form, then (sometimes) the consent form.
      await page.locator('input[name="login"]').fill(email);
      await page.locator('input[name="password"]').fill('dev');
      await page.locator('button[type="submit"]').click();
      await page.waitForURL((u) => u.origin === base || u.pathname.includes('/interaction/'));
      if (new URL(page.url()).origin !== base) {
        await page.locator('button[type="submit"]').click();
        await page.waitForURL((u) => u.origin === base);
      }
      await page.getByTestId('identity').filter({ hasText: email }).waitFor();
      return { context, page };
    },
    close,
  };
}
