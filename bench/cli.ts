/**
 * CLI startup as users meet it: the built package (`dist/` on plain Node, as `npm install airclutch`
 * runs it), cold processes. `cli_help_ms` is `airclutch --help`; `cli_runs_list_ms` is `airclutch
 * runs list` with a token against a running server (in this process, on loopback, SQLite, a few
 * runs). Medians of 10 processes each. Builds `dist/` first (`npm run build`).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createAirclutch } from '../src/app/create-airclutch.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { createServer } from '../src/http/create-server.ts';
import { OidcTokenVerifier } from '../src/identity/oidc-token-verifier.ts';
import { startIdpProcess } from './idp-process.ts';
import { runIfMain } from './main.ts';
import { median, round } from './stats.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const DIST_MAIN = join(ROOT, 'dist/cli/main.js');
const REPEAT = 10;

const FILES: Record<string, string> = {
  'dags/noop.ts': `
import { dag } from 'airclutch';
const d = dag({ id: 'noop' });
d.task('nothing', () => 1);
export default d;
`,
  'policies/bench.cedar': `
@reason("engineers run and see DAGs")
permit (principal in Group::"data-eng", action, resource);
`,
};

/** Wall time of one cold `node dist/cli/main.js ...args` process, in ms. */
async function timeOnce(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  // The same entry as bin/airclutch.js in an installed package: import dist, call main(argv).
  const script = `import(${JSON.stringify(DIST_MAIN)}).then((m) => m.main(process.argv))`;
  const start = performance.now();
  await run(process.execPath, ['-e', script, 'airclutch', ...args], { env, cwd });
  return performance.now() - start;
}

async function medianOf(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  await timeOnce(args, env, cwd); // warm the file system cache, not the process
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) times.push(await timeOnce(args, env, cwd));
  return round(median(times), 1);
}

export async function benchCli(): Promise<Record<string, number>> {
  const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  if (built.status !== 0) throw new Error('npm run build failed: run it to see why');
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-bench-cli-'));
  for (const [name, text] of Object.entries(FILES)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const idp = await startIdpProcess(dir);
  writeFileSync(
    join(dir, 'airclutch.config.yaml'),
    `environments:\n  dev:\n    dags: [dags]\n    policies: [policies]\nidentity:\n  devIdp:\n    port: ${idp.port}\n`,
  );
  const config = await loadConfig({ cwd: dir, env: {} });
  const ac = await createAirclutch(config);
  const app = await createServer(ac, { verifier: OidcTokenVerifier.fromConfig(config.identity) });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const token = await idp.mintToken('eng@example.com');
    const ctx = {
      principal: await OidcTokenVerifier.fromConfig(config.identity).verify(token),
      source: 'cli' as const,
      requestId: 'bench',
    };
    for (let i = 0; i < 5; i++) await ac.gate.trigger(ctx, { dagId: 'noop', params: {} });
    const env = {
      ...process.env,
      AIRCLUTCH_URL: url,
      AIRCLUTCH_TOKEN: token,
      XDG_CONFIG_HOME: join(dir, 'xdg'),
    };
    return {
      cli_help_ms: await medianOf(['--help'], env, dir),
      cli_runs_list_ms: await medianOf(['runs', 'list'], env, dir),
    };
  } finally {
    await app.close();
    await ac.close();
    await idp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await runIfMain(import.meta, () => benchCli());
