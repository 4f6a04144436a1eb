/**
 * The CLI as a client of an Airclutch server: which server (`--server`, `AIRCLUTCH_URL`, the profile
 * saved by `airclutch login`, then the local dev server in dev mode), which token (`--token`,
 * `AIRCLUTCH_TOKEN`, a dev token for `--as` in dev mode, the saved login), and every answer checked:
 * problem+json becomes the same `AirclutchError` the server raised, a server that is not Airclutch
 * or speaks another version is refused, and no answer names the URL tried and how to start a server.
 * Only `node:` modules and small ones load here, so that a command costs one HTTP round trip.
 * @module
 */
import type { Command } from 'commander';
import type { AirclutchConfig } from '../config/config-schema.ts';
import { airclutchVersion, VERSION_HEADER, versionsCompatible } from '../lib/airclutch-version.ts';
import { AirclutchError, ERROR_CODES, type ErrorCode, isAirclutchError } from '../lib/errors.ts';
import { readProfile } from './cli-profile.ts';
import { type HttpAnswer, httpRequest } from './http-request.ts';

export interface ClientFlags {
  token?: string | undefined;
  as?: string | undefined;
  mfa?: boolean | undefined;
}

/** The dev server's default URL (`airclutch dev` with the default server.host and server.port). */
export const DEV_SERVER_URL = 'http://127.0.0.1:8080';

/** Where the server URL came from, for messages. */
export type ServerSource = '--server' | 'AIRCLUTCH_URL' | 'login profile' | 'dev config';

export interface ResolvedServer {
  readonly url: string;
  readonly source: ServerSource;
}

/**
 * The server for this invocation, in the documented order. `loadConfig` is only called when neither
 * flag, environment nor profile names one (the dev default comes from the config's server section).
 */
export async function resolveServer(
  flag: string | undefined,
  loadConfig: () => Promise<AirclutchConfig>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedServer> {
  if (flag) return { url: normalizeUrl(flag, '--server'), source: '--server' };
  if (env.AIRCLUTCH_URL)
    return { url: normalizeUrl(env.AIRCLUTCH_URL, 'AIRCLUTCH_URL'), source: 'AIRCLUTCH_URL' };
  const saved = readProfile(env).server;
  if (saved) return { url: normalizeUrl(saved, 'login profile'), source: 'login profile' };
  const config = await loadConfig();
  if (config.identity.mode !== 'dev') {
    throw new AirclutchError(
      'REQUEST_INVALID',
      'no server to talk to: pass --server URL, set AIRCLUTCH_URL, or sign in with `airclutch login --server URL`',
    );
  }
  const { host, port } = config.server;
  const loopback = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return {
    url: `http://${loopback.includes(':') ? `[${loopback}]` : loopback}:${port}`,
    source: 'dev config',
  };
}

function normalizeUrl(raw: string, from: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `${from} ${raw} is not a URL: use e.g. http://127.0.0.1:8080`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AirclutchError('REQUEST_INVALID', `${from} ${raw} is not an http(s) URL`);
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * One server and one caller. Every method returns the parsed JSON body of a 2xx answer or throws the
 * server's error.
 *
 * @example
 * const api = await apiClient(cmd, opts);
 * const { runs } = await api.get<{ runs: RunView[] }>('/api/v1/runs', { limit: 50 });
 */
export class ApiClient {
  constructor(
    readonly server: ResolvedServer,
    private readonly token: (() => Promise<string | undefined>) | undefined,
    private readonly hint: string,
  ) {}

  get<T>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    return this.request<T>('GET', withQuery(path, query));
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /** A GET whose body is streamed (audit export, log lines): the checked response, body unread. */
  async stream(path: string, query: Record<string, string | number | undefined> = {}): Promise<HttpAnswer> {
    return this.send('GET', withQuery(path, query));
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await res.text();
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      throw notAirclutch(this.server.url, `its answer to ${method} ${path} is not JSON`);
    }
  }

  private async send(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    const token = this.token ? await this.token() : undefined;
    const headers: Record<string, string> = {
      accept: 'application/json',
      // The server records such calls with source `cli` (src/http/gate-context.ts).
      'user-agent': `airclutch-cli/${airclutchVersion()}`,
    };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = `${this.server.url}${path}`;
    let res: HttpAnswer;
    try {
      res = await httpRequest(url, {
        method,
        headers,
        timeoutMs: answerTimeoutMs(),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      const cause = e as { code?: string; message?: string };
      throw new AirclutchError(
        'SERVER_UNREACHABLE',
        `no Airclutch server answers at ${this.server.url} (from ${this.server.source}: ${cause?.code ?? cause?.message ?? (e as Error).message}); ${this.hint}`,
        { cause: e },
      );
    }
    const version = res.header(VERSION_HEADER);
    if (!version) {
      res.discard();
      throw notAirclutch(
        this.server.url,
        `it answered ${method} ${path} with HTTP ${res.status} and no ${VERSION_HEADER} header`,
      );
    }
    if (!versionsCompatible(airclutchVersion(), version)) {
      res.discard();
      throw new AirclutchError(
        'SERVER_VERSION_MISMATCH',
        `the server at ${this.server.url} runs Airclutch ${version}, this CLI is ${airclutchVersion()}: install the CLI of the server's version (npm install -g airclutch@${version})`,
      );
    }
    if (res.ok) return res;
    throw await problemError(res, this.server.url);
  }
}

/** How long the CLI waits for a server to begin answering: `AIRCLUTCH_CLIENT_TIMEOUT_MS`, default 30 s. */
function answerTimeoutMs(): number {
  const ms = Number(process.env.AIRCLUTCH_CLIENT_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : 30_000;
}

function withQuery(path: string, query: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

function notAirclutch(url: string, why: string): AirclutchError {
  return new AirclutchError(
    'SERVER_NOT_AIRCLUTCH',
    `${url} is not an Airclutch server: ${why}. Check --server / AIRCLUTCH_URL (an Airclutch server answers /healthz with an ${VERSION_HEADER} header)`,
  );
}

async function problemError(res: HttpAnswer, url: string): Promise<AirclutchError> {
  const text = await res.text();
  let problem: { code?: string; detail?: string; details?: Record<string, unknown> } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    return notAirclutch(url, `it answered HTTP ${res.status} with a body that is not problem+json`);
  }
  const code = problem.code && problem.code in ERROR_CODES ? (problem.code as ErrorCode) : 'INTERNAL';
  const detail = problem.detail ?? `HTTP ${res.status} from ${url}`;
  return new AirclutchError(code, detail, problem.details ? { details: problem.details } : undefined);
}

/** Adds `--token` and `--as` to a command (`--server` is global). */
export function clientOptions<T extends { option(flags: string, description: string): T }>(cmd: T): T {
  return cmd
    .option('--token <jwt>', 'act with this access token (default: AIRCLUTCH_TOKEN, then `airclutch login`)')
    .option('--as <user>', 'dev mode: act as a demo person, e.g. eng@example.com (mints a dev token)')
    .option('--mfa', 'dev mode, with --as: the dev token says a second factor was used (for break-glass)');
}

/**
 * The client for a command: the server from the global `--server` (or the fallbacks), and the
 * caller's token. Commands that need no identity (none yet) may pass `anonymous`.
 */
export async function apiClient(cmd: Command, flags: ClientFlags): Promise<ApiClient> {
  const globals = cmd.optsWithGlobals() as { server?: string; config?: string };
  let config: Promise<AirclutchConfig> | undefined;
  const loadConfig = () => {
    config ??= import('./cli-context.ts').then((m) => m.configFor(cmd));
    return config;
  };
  const server = await resolveServer(globals.server, loadConfig);
  const hint =
    server.source === 'dev config'
      ? 'start the dev server with `airclutch dev` in your project, or pass --server / set AIRCLUTCH_URL'
      : 'check that the server runs (`airclutch server`) and the URL is right';
  let token: Promise<string> | undefined;
  return new ApiClient(server, () => (token ??= tokenFor(flags, loadConfig)), hint);
}

async function tokenFor(flags: ClientFlags, loadConfig: () => Promise<AirclutchConfig>): Promise<string> {
  const given = flags.token ?? process.env.AIRCLUTCH_TOKEN;
  if (given) return given;
  if (flags.as) {
    const config = await loadConfig();
    const { devToken } = await import('../identity/dev-token.ts');
    return devToken(config, flags.as, flags.mfa ? { mfa: true } : {});
  }
  const [{ freshAccessToken }, { CliTokenStore }] = await Promise.all([
    import('../identity/cli-login.ts'),
    import('../identity/cli-token-store.ts'),
  ]);
  try {
    const refreshBeforeSec = 60;
    return (await freshAccessToken(new CliTokenStore(), refreshBeforeSec)).accessToken;
  } catch (e) {
    if (isAirclutchError(e) && e.code === 'TOKEN_MISSING') {
      throw new AirclutchError(
        'TOKEN_MISSING',
        'not signed in: run `airclutch login`, set AIRCLUTCH_TOKEN, or in dev mode pass --as eng@example.com',
      );
    }
    throw e;
  }
}
