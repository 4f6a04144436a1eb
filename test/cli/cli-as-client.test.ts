/**
 * The CLI as a client of a server, driven as a user would: the real binary against a real server (or
 * against the wrong thing: nothing, a web page, a server of another version), with real dev tokens.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SERVER_URL, resolveServer } from '../../src/cli/api-client.ts';
import { saveProfile } from '../../src/cli/cli-profile.ts';
import { colorEnabled } from '../../src/cli/color-enabled.ts';
import { completionScript } from '../../src/cli/commands/completion-command.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { devToken } from '../../src/identity/dev-token.ts';
import { freePort } from '../helpers/free-port.ts';
import { DAGS, user } from '../helpers/gate-world.ts';
import { type CliWorld, cliWorld } from './cli-world.ts';

const BIN = resolve(import.meta.dirname, '../../bin/airclutch.js');
const VERSION = (
  JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as {
    version: string;
  }
).version;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let world: CliWorld;
let runId: string;

/** A server on loopback that answers every request with `answer`. */
async function fakeServer(
  answer: (res: import('node:http').ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => answer(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

describe('the CLI as a client of a server', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    world = await cliWorld({
      ...DAGS,
      'dags/needs_day.ts': `
import { dag } from 'airclutch';
import { z } from 'zod';
const d = dag({ id: 'needs_day', params: z.object({ day: z.string(), rows: z.number().int() }) });
d.task('t', () => 1);
export default d;
`,
    });
    const res = await world.ac!.gate.trigger(
      { principal: user('eng@example.com', ['data-eng']), source: 'cli', requestId: 'r1' },
      { dagId: 'revenue', params: { rows: 2_000_000 } },
    );
    runId = res.run.id;
  });
  afterAll(() => world?.close());

  it('picks the server from --server, then AIRCLUTCH_URL, then the login profile, then the dev config', async () => {
    const xdg = mkdtempSync(join(tmpdir(), 'airclutch-profile-'));
    try {
      const env = { XDG_CONFIG_HOME: xdg } as NodeJS.ProcessEnv;
      const config = () => loadConfig({ path: world.configPath });
      const withUrl = { ...env, AIRCLUTCH_URL: 'http://env.example:1/' };
      saveProfile({ server: 'https://profile.example' }, env);
      expect(await resolveServer('http://flag.example:2', config, withUrl)).toEqual({
        url: 'http://flag.example:2',
        source: '--server',
      });
      expect(await resolveServer(undefined, config, withUrl)).toEqual({
        url: 'http://env.example:1',
        source: 'AIRCLUTCH_URL',
      });
      expect(await resolveServer(undefined, config, env)).toEqual({
        url: 'https://profile.example',
        source: 'login profile',
      });
      rmSync(join(xdg, 'airclutch', 'profile.json'));
      expect(await resolveServer(undefined, config, env)).toEqual({
        url: 'http://127.0.0.1:8080',
        source: 'dev config',
      });
      await expect(resolveServer('ftp://x', config, env)).rejects.toMatchObject({
        code: 'REQUEST_INVALID',
        message: '--server ftp://x is not an http(s) URL',
      });
    } finally {
      rmSync(xdg, { recursive: true, force: true });
    }
  });

  it('prints a problem+json answer as the same code and message, with exit status 1', async () => {
    const res = await world.cli(['runs', 'show', 'no-such-run'], { as: 'eng@example.com' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error\[RUN_NOT_FOUND\]: .*no-such-run.*\n$/);
    // A lead may view the run but no policy lets them cancel it: the server's refusal, as it said it.
    const denied = await world.cli(['runs', 'cancel', runId], { as: 'lead@example.com' });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^error\[POLICY_DENIED\]: .*cancel.*\n$/);
  });

  it('names the URL it tried and how to start a server when none answers, with exit status 3', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const res = await world.cli(['runs', 'list'], { as: 'eng@example.com', env: { AIRCLUTCH_URL: url } });
    expect(res.code).toBe(3);
    expect(res.stderr).toBe(
      `error[SERVER_UNREACHABLE]: no Airclutch server answers at ${url} (from AIRCLUTCH_URL: ECONNREFUSED); check that the server runs (\`airclutch server\`) and the URL is right\n`,
    );
    // Without a URL the CLI tries the dev server's default address, and says how to start one. (A
    // developer's own `npm start` may be listening there: then there is nothing to hint.)
    if (!(await answers(DEV_SERVER_URL))) {
      const dev = await world.cli(['runs', 'list'], { as: 'eng@example.com', env: { AIRCLUTCH_URL: '' } });
      expect(dev.stderr).toContain('start the dev server with `airclutch dev` in your project');
    }
  });

  it('gives up on a server that accepts the request but never answers, naming it, with exit status 3', async () => {
    const hung = await fakeServer(() => {});
    try {
      const res = await world.cli(['--server', hung.url, 'runs', 'list'], {
        as: 'eng@example.com',
        env: { AIRCLUTCH_CLIENT_TIMEOUT_MS: '300' },
      });
      expect(res.code).toBe(3);
      expect(res.stderr).toContain(
        `error[SERVER_UNREACHABLE]: no Airclutch server answers at ${hung.url} (from --server: ETIMEDOUT)`,
      );
    } finally {
      hung.server.closeAllConnections();
      hung.server.close();
    }
  });

  it('refuses a --server that is not Airclutch, saying so instead of a JSON parse error', async () => {
    const page = await fakeServer((res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hi</html>'),
    );
    try {
      const res = await world.cli(['--server', page.url, 'runs', 'list'], { as: 'eng@example.com' });
      expect(res.code).toBe(3);
      expect(res.stderr).toBe(
        `error[SERVER_NOT_AIRCLUTCH]: ${page.url} is not an Airclutch server: it answered GET /api/v1/runs?limit=50 with HTTP 200 and no airclutch-version header. Check --server / AIRCLUTCH_URL (an Airclutch server answers /healthz with an airclutch-version header)\n`,
      );
    } finally {
      page.server.close();
    }
  });

  it('refuses a server of another version, naming both versions', async () => {
    const other = await fakeServer((res) =>
      res
        .writeHead(200, { 'content-type': 'application/json', 'airclutch-version': '9.0.0' })
        .end('{"runs":[]}'),
    );
    try {
      const res = await world.cli(['runs', 'list', '--server', other.url], { as: 'eng@example.com' });
      expect(res.code).toBe(3);
      expect(res.stderr).toBe(
        `error[SERVER_VERSION_MISMATCH]: the server at ${other.url} runs Airclutch 9.0.0, this CLI is ${VERSION}: install the CLI of the server's version (npm install -g airclutch@9.0.0)\n`,
      );
    } finally {
      other.server.close();
    }
  });

  it('says how to sign in again when the saved login has expired', async () => {
    const xdg = join(world.dir, 'xdg-expired');
    mkdirSync(join(xdg, 'airclutch'), { recursive: true });
    writeFileSync(
      join(xdg, 'airclutch', 'tokens.json'),
      JSON.stringify({
        issuer: 'http://127.0.0.1:1',
        clientId: 'cli',
        accessToken: 'x.y.z',
        expiresAt: 1_000,
      }),
      { mode: 0o600 },
    );
    const res = await world.cli(['runs', 'list'], { env: { XDG_CONFIG_HOME: xdg } });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      'error[TOKEN_EXPIRED]: the stored token has expired and there is no refresh token; run "airclutch login" again\n',
    );
  });

  it('whoami takes --as, --token and AIRCLUTCH_TOKEN, and asks the server', async () => {
    const as = await world.cli(['whoami', '--json'], { as: 'lead@example.com' });
    expect(as.stderr).toBe('');
    const me = JSON.parse(as.stdout);
    expect(me).toMatchObject({ kind: 'user', id: 'lead@example.com', groups: ['data-leads'], via: 'bearer' });
    expect(me.tokenExpiresAt).toMatch(ISO);
    const token = await devToken(await loadConfig({ path: world.configPath }), 'eng@example.com');
    const flag = await world.cli(['whoami', '--token', token]);
    expect(flag.stdout).toMatch(/^PRINCIPAL +GROUPS +ISSUER +EXPIRES\nuser:eng@example.com +data-eng /);
    const env = await world.cli(['whoami', '--json'], { env: { AIRCLUTCH_TOKEN: token } });
    expect(JSON.parse(env.stdout).id).toBe('eng@example.com');
  });

  it('prints every --json listing as the API views, with ISO times', async () => {
    const runs = JSON.parse((await world.cli(['runs', 'list', '--json'], { as: 'eng@example.com' })).stdout);
    expect(runs[0]).toMatchObject({
      id: runId,
      dag_id: 'revenue',
      state: 'awaiting_approval',
      requested_by: 'eng@example.com',
    });
    expect(runs[0].created_at).toMatch(ISO);
    const shown = JSON.parse(
      (await world.cli(['runs', 'show', runId, '--json'], { as: 'eng@example.com' })).stdout,
    );
    expect(shown.run).toEqual(runs[0]);
    const approvals = JSON.parse(
      (await world.cli(['approvals', 'list', '--json'], { as: 'lead@example.com' })).stdout,
    );
    expect(approvals.actionable[0]).toMatchObject({ run_id: runId, dag_id: 'revenue', state: 'pending' });
    expect(approvals.actionable[0].expires_at).toMatch(ISO);
    expect(approvals.actionable[0].created_at).toMatch(ISO);
    const dags = JSON.parse((await world.cli(['dags', 'list', '--json'], { as: 'eng@example.com' })).stdout);
    expect(dags.map((d: { dagId: string }) => d.dagId).sort()).toEqual(['cleanup', 'needs_day', 'revenue']);
  });

  it('hints that a DAG with required params can be triggered, as triggering it with them works', async () => {
    const dags = JSON.parse((await world.cli(['dags', 'list', '--json'], { as: 'eng@example.com' })).stdout);
    expect(dags.find((d: { dagId: string }) => d.dagId === 'needs_day').trigger).toBe('allow');
    const table = await world.cli(['dags', 'list'], { as: 'eng@example.com' });
    expect(table.stdout).toMatch(/^needs_day +dev +\(manual\) +1 +allow$/m);
    const run = await world.cli(['trigger', 'needs_day', '-p', 'day=mon', '-p', 'rows=3'], {
      as: 'eng@example.com',
    });
    expect(run.stdout).toMatch(/^run \S+ of dev\/needs_day queued: http:\/\/\S+\/runs\/\S+\n$/);
  });

  it('prints the web UI links of what it started, shows and lists, under the server it talks to', async () => {
    const base = world.url!;
    const started = await world.cli(['trigger', 'needs_day', '-p', 'day=tue', '-p', 'rows=1'], {
      as: 'eng@example.com',
    });
    const id = /^run (\S+) of/.exec(started.stdout)![1]!;
    expect(started.stdout).toBe(`run ${id} of dev/needs_day queued: ${base}/runs/${id}\n`);
    const asked = await world.cli(['trigger', 'revenue', '-p', 'rows=3000000'], { as: 'eng@example.com' });
    const waiting = /^run (\S+) of dev\/revenue awaits approval (\S+) /.exec(asked.stdout)!;
    expect(asked.stdout).toContain(
      `\n  open: ${base}/runs/${waiting[1]} (approvers vote at ${base}/approvals/${waiting[2]})\n`,
    );
    const shown = await world.cli(['runs', 'show', id], { as: 'eng@example.com' });
    expect(shown.stdout).toContain(`\n  open: ${base}/runs/${id}\n`);
    const listed = await world.cli(['approvals', 'list'], { as: 'lead@example.com' });
    expect(listed.stdout.split('\n')[0]).toBe(`Waiting for you (vote in the browser at ${base}/approvals):`);
    const row = listed.stdout.split('\n').find((l) => l.startsWith(waiting[2]!));
    expect(row).toMatch(
      new RegExp(` ${base.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/approvals/${waiting[2]}$`),
    );
    // What a voter is shown before the vote names the request's own page.
    const voted = await world.cli(['approvals', 'deny', waiting[2]!, '-m', 'not today'], {
      as: 'lead@example.com',
    });
    expect(voted.stdout).toContain(`\nOpen:         ${base}/approvals/${waiting[2]}\n`);
    // Scripts keep the API's views: no link is added to --json output.
    const json = JSON.parse(
      (await world.cli(['runs', 'show', id, '--json'], { as: 'eng@example.com' })).stdout,
    );
    expect(Object.keys(json)).toEqual(['run', 'tasks']);
    expect(json.run).not.toHaveProperty('url');
  });

  it('prints its version, with --version and -V', async () => {
    for (const flag of ['--version', '-V']) {
      const res = await world.cli([flag]);
      expect([res.code, res.stdout, res.stderr]).toEqual([0, `${VERSION}\n`, '']);
    }
  });

  it('generates bash and zsh completion scripts that complete commands, subcommands and options', async () => {
    const bash = await world.cli(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toBe(await completionScript('bash'));
    const file = join(world.dir, 'airclutch.bash');
    writeFileSync(file, bash.stdout);
    const complete = (words: string[]) =>
      new Promise<string>((done, fail) => {
        const script = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _airclutch; echo "\${COMPREPLY[*]}"`;
        const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('error', fail);
        child.on('close', () => done(out.trim()));
      });
    expect(await complete(['airclutch', 'ru'])).toBe('runs');
    expect((await complete(['airclutch', 'runs', ''])).split(' ')).toEqual([
      'list',
      'show',
      'logs',
      'cancel',
    ]);
    expect(await complete(['airclutch', '-c', 'x.yaml', 'approvals', 'list', '--js'])).toBe('--json');
    const zsh = await world.cli(['completion', 'zsh']);
    // Typed into real shells in test/cli/shell-completion.test.ts.
    expect(zsh.stdout).toBe(await completionScript('zsh'));
    expect(zsh.stdout.split('\n').slice(0, 2)).toEqual([
      '#compdef airclutch',
      '# airclutch completion for zsh',
    ]);
    expect(zsh.stdout).toContain('compdef _airclutch airclutch\n');
    const fish = await world.cli(['completion', 'fish']);
    expect([fish.code, fish.stderr]).toEqual([
      1,
      'error[REQUEST_INVALID]: no completion for shell fish: use bash or zsh\n',
    ]);
  });

  it('colours only on a terminal and never with NO_COLOR', () => {
    expect(colorEnabled({ isTTY: true }, {})).toBe(true);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(colorEnabled({ isTTY: false }, {})).toBe(false);
  });

  it('ends quietly with status 0 when its output pipe closes early (`| head`)', async () => {
    const child = spawn(
      process.execPath,
      [BIN, '-c', world.configPath, 'runs', 'list', '--as', 'eng@example.com'],
      {
        env: {
          ...process.env,
          AIRCLUTCH_URL: world.url,
          XDG_CONFIG_HOME: join(world.dir, 'xdg'),
          AIRCLUTCH_TOKEN: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.destroy();
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect([code, stderr]).toEqual([0, '']);
  });
});

/** Whether anything accepts a connection at `url` (its host and port). */
function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
