/**
 * A fake Apache Airflow on loopback: the REST endpoints the bridge uses, for the `v2` (Airflow 3.x)
 * and `v1` (Airflow 2.10) APIs, with Airflow's behaviour (JWTs from `POST /auth/token` that expire,
 * basic auth on v1, 409 on a duplicate run id, runs that progress when the test says so, pagination).
 * Every request and every response is checked against the published OpenAPI document; a violation
 * answers 500 and is recorded in `violations`, which each test asserts empty.
 *
 * The batch list endpoints (`POST …/dags/~/dagRuns/list`, `POST …/dags/~/dagRuns/~/taskInstances/list`)
 * filter and page as Airflow's do, capping a page at `maxPageLimit`.
 *
 * Faults: `stop()` (down: the port is closed), `faults.delayMs` (slow), `expireTokens()` (a token
 * expires mid-run), `faults.failNext` (5xx, or any status), `faults.holdTriggerMs` (the run is
 * created, but the answer comes after the client's timeout).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { jwtVerify, SignJWT } from 'jose';
import { freePort } from '../helpers/free-port.ts';
import { type AirflowApi, AirflowContract } from './airflow-contract.ts';

export interface FakeDag {
  dag_id: string;
  description?: string | null;
  owners?: string[];
  tags?: string[];
  schedule?: string | null;
  is_paused?: boolean;
  has_import_errors?: boolean;
  /** Airflow's serialized params: `{ name: { __class, value, description, schema } }`. */
  params?: Record<string, unknown>;
  tasks?: string[];
  /** How runs of this DAG end when they progress. */
  outcome?: 'success' | 'failed';
  fileloc?: string;
  /** When Airflow last parsed the file (ISO); set when the DAG is added. */
  last_parsed?: string;
}

interface FakeTi {
  state: string | null;
  try_number: number;
  /** Each try's log, append-only as Airflow's: a state line is added when a read finds a new state. */
  logs?: Map<number, string[]>;
}

export interface FakeRun {
  dag_id: string;
  dag_run_id: string;
  state: 'queued' | 'running' | 'success' | 'failed';
  conf: Record<string, unknown>;
  note: string | null;
  logical_date: string | null;
  run_after: string;
  tis: Map<string, FakeTi>;
}

export interface FakeAirflowOptions {
  api: AirflowApi;
  version?: string;
  username?: string;
  password?: string;
  /** Lifetime of tokens from POST /auth/token, in seconds. */
  tokenTtlSec?: number;
  /** The fake's clock (ms): token expiry and timestamps. */
  now?: () => number;
  /** Accepts bearer tokens that this function accepts (an auth manager that trusts an IdP). */
  trustBearer?: (token: string) => Promise<boolean>;
  /** Each read of a run moves it one step (queued → running → end). */
  progressOnRead?: boolean;
}

export interface FakeFaults {
  delayMs?: number;
  failNext?: { status: number; count: number };
  holdTriggerMs?: number;
  /** Refuse everything with 403 (a service account that lacks a permission). */
  forbid?: boolean;
  /**
   * Task logs are sent in two parts: the first `firstBytes` of the answer at once, the rest only
   * when `release` resolves (a large log Airflow streams from its log store).
   */
  splitLog?: { firstBytes: number; release: Promise<void> };
}

const SECRET = new TextEncoder().encode('fake-airflow-jwt-secret-not-a-real-one');

export class FakeAirflow {
  readonly violations: string[] = [];
  readonly requests: { method: string; path: string; status: number }[] = [];
  /** The headers of each request, in arrival order (what a proxy in front of Airflow passed on). */
  readonly requestHeaders: import('node:http').IncomingHttpHeaders[] = [];
  readonly dags = new Map<string, FakeDag>();
  readonly runs = new Map<string, FakeRun>();
  /** Files Airflow could not import: `filename` relative to the DAGs folder, as Airflow 3 lists them. */
  readonly importErrors: { filename: string; stack_trace: string }[] = [];
  /** Airflow Variables (the proxy's admin operations). */
  readonly variables = new Map<
    string,
    { key: string; value: string; description: string | null; is_encrypted: boolean }
  >();
  faults: FakeFaults = {};
  /** Server-side time (ms) of each answered trigger, from the request's arrival to the answer: Airflow's own share. */
  readonly triggerTimesMs: number[] = [];
  /**
   * When each trigger's request arrived, by its `dag_run_id`, as `performance.timeOrigin + now()`:
   * a time another process on this machine can compare with its own (benchmarks do).
   */
  readonly triggerArrivals = new Map<string, number>();
  /**
   * Time (ms) spent matching and validating requests and responses against the OpenAPI document:
   * the fake's own cost, synchronous (so never overlapping), which benchmarks subtract.
   */
  contractMs = 0;
  tokensIssued = 0;
  /** Calls of the batch list endpoints (runs, task instances), page by page. */
  batchCalls = 0;
  /** Airflow's `[api] maximum_page_limit`: the most a page holds whatever the client asks. */
  maxPageLimit = 100;
  private readonly revoked = new Set<string>();
  /** Tokens whose signature was checked once: expiry and revocation are still checked each call. */
  private readonly verified = new Map<string, { exp: number; jti: string }>();
  private readonly issued: string[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly opts: Required<Omit<FakeAirflowOptions, 'trustBearer'>> &
      Pick<FakeAirflowOptions, 'trustBearer'>,
    private readonly contract: AirflowContract,
    private server: Server,
    readonly port: number,
  ) {}

  static async start(options: FakeAirflowOptions): Promise<FakeAirflow> {
    const contract = await AirflowContract.load(options.api);
    const opts = {
      version: options.api === 'v2' ? '3.2.0' : '2.10.5',
      username: 'airclutch',
      password: 's3cret-pw',
      tokenTtlSec: 3600,
      now: Date.now,
      progressOnRead: false,
      ...options,
    };
    const port = await freePort();
    const fake = new FakeAirflow(opts, contract, createServer(), port);
    await fake.listen();
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get api(): AirflowApi {
    return this.opts.api;
  }
  get credentials(): { username: string; password: string } {
    return { username: this.opts.username, password: this.opts.password };
  }

  addDag(d: FakeDag): void {
    this.dags.set(d.dag_id, {
      tasks: ['extract', 'load'],
      outcome: 'success',
      last_parsed: new Date(this.opts.now()).toISOString(),
      ...d,
    });
  }

  /** Tokens issued before now stop working (a token expires mid-run). */
  expireTokens(): void {
    for (const jti of this.issued) this.revoked.add(jti);
  }

  run(dagId: string, runId: string): FakeRun | undefined {
    return this.runs.get(`${dagId}/${runId}`);
  }

  /**
   * A run Airflow's scheduler created (`scheduled__<logical date>`), ended in `state` with each task
   * in that state: the runs a clear by date range covers.
   */
  scheduleRun(dagId: string, logicalDate: string, state: 'success' | 'failed'): FakeRun {
    const d = this.dags.get(dagId);
    if (!d) throw new Error(`no DAG ${dagId}`);
    const logical = new Date(logicalDate).toISOString();
    const r: FakeRun = {
      dag_id: dagId,
      dag_run_id: `scheduled__${logical}`,
      state,
      conf: {},
      note: null,
      logical_date: logical,
      run_after: logical,
      tis: new Map((d.tasks ?? []).map((t) => [t, { state, try_number: 1 }])),
    };
    this.runs.set(`${dagId}/${r.dag_run_id}`, r);
    return r;
  }

  /** Appends a line to the log of a task's current try, as a running task writes it. */
  appendLog(dagId: string, runId: string, taskId: string, line: string): void {
    const ti = this.run(dagId, runId)?.tis.get(taskId);
    if (!ti) throw new Error(`no task ${taskId} in ${dagId}/${runId}`);
    ti.logs ??= new Map();
    const lines = ti.logs.get(ti.try_number) ?? [];
    ti.logs.set(ti.try_number, lines);
    lines.push(line);
  }

  /** Moves every unfinished run one step: queued → running → success or failed. */
  step(): void {
    for (const r of this.runs.values()) this.advance(r);
  }

  /** Down: closes the port (and open connections). `start()` again brings it back on the same port. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  async restart(): Promise<void> {
    this.server = createServer();
    await this.listen();
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.stop();
  }

  private async listen(): Promise<void> {
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('request', (req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.violations.push(`fake crashed: ${String(e)}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(this.port, '127.0.0.1', r));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        r();
      }, ms);
      this.timers.add(t);
    });
  }

  private advance(r: FakeRun): void {
    const dag = this.dags.get(r.dag_id);
    if (r.state === 'queued') {
      r.state = 'running';
      // Only what has not run yet (or was cleared) starts: a new try each time.
      for (const ti of r.tis.values()) {
        if (ti.state !== null) continue;
        ti.state = 'running';
        ti.try_number += 1;
      }
    } else if (r.state === 'running') {
      const ok = dag?.outcome !== 'failed';
      r.state = ok ? 'success' : 'failed';
      const names = [...r.tis.keys()];
      names.forEach((n, i) => {
        const ti = r.tis.get(n) as FakeTi;
        if (ti.state !== 'running') return;
        ti.state = ok || i < names.length - 1 ? 'success' : 'failed';
      });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = performance.now();
    this.requestHeaders.push(req.headers);
    const u = new URL(req.url ?? '/', this.url);
    const method = (req.method ?? 'GET').toLowerCase();
    const raw = await readBody(req);
    const send = (
      status: number,
      body: unknown,
      validate = true,
      op?: ReturnType<AirflowContract['match']>,
    ) => {
      if (validate && op) {
        const t0 = performance.now();
        const v = this.contract.checkResponse(body, op, status);
        this.contractMs += performance.now() - t0;
        if (v.length > 0) {
          this.violations.push(...v.map((x) => `${op.operationId}: ${x}`));
          status = 500;
          body = { detail: `contract violation in the fake: ${v.join('; ')}` };
        }
      }
      this.requests.push({ method, path: u.pathname, status });
      if (res.destroyed) return;
      res.writeHead(status, {
        'content-type': 'application/json',
        date: new Date(this.opts.now()).toUTCString(),
      });
      const text = JSON.stringify(body);
      const split = op?.operationId === 'get_log' ? this.faults.splitLog : undefined;
      if (split) {
        res.write(text.slice(0, split.firstBytes));
        void split.release.then(() => res.end(text.slice(split.firstBytes)));
      } else res.end(text);
      if (op?.operationId === 'trigger_dag_run' || op?.operationId === 'post_dag_run') {
        this.triggerTimesMs.push(performance.now() - arrived);
        // The answer names the run it created.
        const runId = (body as { dag_run_id?: unknown } | undefined)?.dag_run_id;
        if (typeof runId === 'string' && !this.triggerArrivals.has(runId))
          this.triggerArrivals.set(runId, performance.timeOrigin + arrived);
      }
    };
    if (this.faults.delayMs) await this.sleep(this.faults.delayMs);
    if (this.faults.failNext && this.faults.failNext.count > 0) {
      this.faults.failNext.count -= 1;
      // An injected fault stands for a proxy or a crashed worker: it is not a contract answer.
      send(this.faults.failNext.status, { detail: 'injected fault' }, false);
      return;
    }
    if (this.opts.api === 'v2' && method === 'post' && u.pathname === '/auth/token') {
      await this.issueToken(raw, send);
      return;
    }
    const matchStart = performance.now();
    const op = this.contract.match(method, u.pathname);
    this.contractMs += performance.now() - matchStart;
    if (!op) {
      this.violations.push(
        `no such route in the ${this.opts.api} document: ${method.toUpperCase()} ${u.pathname}`,
      );
      send(404, { detail: 'Not Found' }, false);
      return;
    }
    let body: unknown;
    try {
      body = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      this.violations.push(`${op.operationId}: request body is not JSON`);
      send(400, this.err(400, 'body is not JSON'), false);
      return;
    }
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of u.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const checkStart = performance.now();
    const bad = this.contract.checkRequest(
      { method, path: u.pathname, query, headers: req.headers, body },
      op,
    );
    this.contractMs += performance.now() - checkStart;
    if (bad.length > 0) {
      this.violations.push(...bad.map((x) => `${op.operationId}: ${x}`));
      send(
        this.opts.api === 'v2' ? 422 : 400,
        this.opts.api === 'v2'
          ? { detail: bad.map((msg) => ({ loc: ['body'], msg, type: 'value_error' })) }
          : this.err(400, bad.join('; ')),
        false,
      );
      return;
    }
    const isPublic = op.operationId === 'get_version' || op.operationId === 'get_health';
    if (!isPublic && !(await this.authorised(req.headers.authorization))) {
      send(
        401,
        this.opts.api === 'v2' ? { detail: 'Invalid JWT token' } : this.err(401, 'Unauthorized'),
        true,
        op,
      );
      return;
    }
    if (!isPublic && this.faults.forbid) {
      send(403, this.opts.api === 'v2' ? { detail: 'Forbidden' } : this.err(403, 'Forbidden'), true, op);
      return;
    }
    const params = (op as unknown as { path: string }).path;
    const match = this.pathParams(params, u.pathname);
    const [status, out] = this.route(op.operationId ?? '', match, query, body);
    if (op.operationId === 'trigger_dag_run' || op.operationId === 'post_dag_run') {
      if (this.faults.holdTriggerMs) await this.sleep(this.faults.holdTriggerMs);
    }
    send(status, out, true, op);
  }

  private async issueToken(raw: string, send: (s: number, b: unknown, v?: boolean) => void): Promise<void> {
    // The simple auth manager's own sub-application (not part of the core document): LoginBody in, 201.
    let b: { username?: unknown; password?: unknown };
    try {
      b = JSON.parse(raw) as typeof b;
    } catch {
      this.violations.push('create_token: request body is not JSON');
      send(422, { detail: 'body is not JSON' }, false);
      return;
    }
    if (typeof b.username !== 'string' || typeof b.password !== 'string' || Object.keys(b).length !== 2) {
      this.violations.push('create_token: LoginBody needs exactly username and password, as strings');
      send(422, { detail: 'invalid LoginBody' }, false);
      return;
    }
    if (b.username !== this.opts.username || b.password !== this.opts.password) {
      send(401, { detail: 'Invalid credentials' }, false);
      return;
    }
    const iat = Math.floor(this.opts.now() / 1000);
    this.tokensIssued += 1;
    const jti = randomUUID();
    this.issued.push(jti);
    const token = await new SignJWT({ role: 'User' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(b.username)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.opts.tokenTtlSec)
      .setJti(jti)
      .sign(SECRET);
    send(201, { access_token: token }, false);
  }

  private async authorised(header: string | undefined): Promise<boolean> {
    if (!header) return false;
    if (this.opts.api === 'v1') {
      const expected = Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64');
      return header === `Basic ${expected}`;
    }
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const known = this.verified.get(token);
    if (known) return known.exp * 1000 > this.opts.now() && !this.revoked.has(known.jti);
    try {
      const { payload } = await jwtVerify(token, SECRET, { currentDate: new Date(this.opts.now()) });
      this.verified.set(token, { exp: Number(payload.exp), jti: String(payload.jti) });
      return !this.revoked.has(String(payload.jti));
    } catch {
      return this.opts.trustBearer ? this.opts.trustBearer(token) : false;
    }
  }

  private pathParams(template: string, path: string): Record<string, string> {
    const root = this.opts.api === 'v1' ? '/api/v1' : '';
    const t = `${root}${template}`.split('/');
    const p = path.split('/');
    const out: Record<string, string> = {};
    t.forEach((seg, i) => {
      const m = /^\{(.+)\}$/.exec(seg);
      if (m?.[1]) out[m[1]] = decodeURIComponent(p[i] ?? '');
    });
    return out;
  }

  /** Airflow 2.10's problem document (`api_connexion/exceptions.py`: a title and link per status). */
  private err(status: number, detail: string): Record<string, unknown> {
    const [name, title] = V1_ERRORS[status] ?? ['Unknown', 'Internal Server Error'];
    return {
      type: `https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html#section/Errors/${name}`,
      title,
      status,
      detail,
    };
  }

  /**
   * Airflow 3's 409 for a duplicate run id: the unique constraint of `dag_run` fails and its
   * `_UniqueConstraintErrorHandler` answers with `detail` as an object.
   */
  private uniqueViolation(table: string, columns: string): Record<string, unknown> {
    return {
      detail: {
        reason: 'Unique constraint violation',
        statement: `INSERT INTO ${table} (…) VALUES (…)`,
        orig_error: `UNIQUE constraint failed: ${columns}`,
        message:
          'Serious error when handling your request. Check logs for more details - you will find it in api server when you look for ID fake',
      },
    };
  }

  /** A batch body's page, capped as Airflow caps it (`maximum_page_limit`, 100 by default). */
  private page(b: Record<string, unknown>): [offset: number, limit: number] {
    return [Number(b.page_offset ?? 0), Math.min(Number(b.page_limit ?? 100), this.maxPageLimit)];
  }

  private notFound(what: string): [number, unknown] {
    return [404, this.opts.api === 'v2' ? { detail: what } : this.err(404, what)];
  }

  private route(
    opId: string,
    p: Record<string, string>,
    q: Record<string, string | string[]>,
    body: unknown,
  ): [number, unknown] {
    const b = (body ?? {}) as Record<string, unknown>;
    switch (opId) {
      case 'get_version':
        return [200, { version: this.opts.version, git_version: null }];
      case 'get_dags': {
        const limit = Number(q.limit ?? 100);
        const offset = Number(q.offset ?? 0);
        const all = [...this.dags.values()].sort((a, c) => a.dag_id.localeCompare(c.dag_id));
        return [
          200,
          {
            dags: all.slice(offset, offset + limit).map((d) => this.dagJson(d, false)),
            total_entries: all.length,
          },
        ];
      }
      case 'get_dag':
      case 'get_dag_details': {
        const d = this.dags.get(p.dag_id ?? '');
        if (!d) return this.notFound(`Dag with id ${p.dag_id} was not found`);
        return [200, this.dagJson(d, opId === 'get_dag_details')];
      }
      case 'patch_dag': {
        const d = this.dags.get(p.dag_id ?? '');
        if (!d) return this.notFound(`Dag with id ${p.dag_id} was not found`);
        d.is_paused = Boolean(b.is_paused);
        return [200, this.dagJson(d, false)];
      }
      case 'trigger_dag_run':
      case 'post_dag_run':
        return this.trigger(p.dag_id ?? '', b);
      case 'get_dag_run': {
        const r = this.run(p.dag_id ?? '', p.dag_run_id ?? '');
        if (!r)
          return this.notFound(
            `The DagRun with dag_id: \`${p.dag_id}\` and run_id: \`${p.dag_run_id}\` was not found`,
          );
        if (this.opts.progressOnRead) this.advance(r);
        return [200, this.runJson(r)];
      }
      case 'patch_dag_run':
      case 'update_dag_run_state': {
        const r = this.run(p.dag_id ?? '', p.dag_run_id ?? '');
        if (!r)
          return this.notFound(
            `The DagRun with dag_id: \`${p.dag_id}\` and run_id: \`${p.dag_run_id}\` was not found`,
          );
        if (b.state === 'failed' || b.state === 'success') {
          r.state = b.state;
          for (const ti of r.tis.values()) {
            if (ti.state !== 'success' && ti.state !== 'failed')
              ti.state = b.state === 'failed' && ti.state === 'running' ? 'failed' : 'skipped';
          }
        } else if (b.state === 'queued') r.state = 'queued';
        if (typeof b.note === 'string') r.note = b.note;
        return [200, this.runJson(r)];
      }
      case 'get_dag_runs': {
        const limit = Number(q.limit ?? (this.opts.api === 'v2' ? 50 : 100));
        const offset = Number(q.offset ?? 0);
        const v1 = this.opts.api === 'v1';
        const gte = q[v1 ? 'execution_date_gte' : 'logical_date_gte'];
        const lte = q[v1 ? 'execution_date_lte' : 'logical_date_lte'];
        const all = [...this.runs.values()]
          .filter((r) => p.dag_id === '~' || r.dag_id === p.dag_id)
          .filter((r) => inRange(r.logical_date, str(gte), str(lte)))
          .sort((a, c) => a.run_after.localeCompare(c.run_after) || a.dag_run_id.localeCompare(c.dag_run_id));
        if (p.dag_id !== '~' && !this.dags.has(p.dag_id ?? ''))
          return this.notFound(`The DAG with dag_id: \`${p.dag_id}\` was not found`);
        return [
          200,
          {
            dag_runs: all.slice(offset, offset + limit).map((r) => this.runJson(r)),
            total_entries: all.length,
          },
        ];
      }
      case 'get_list_dag_runs_batch':
      case 'get_dag_runs_batch': {
        const ids = b.dag_ids as string[] | undefined;
        const states = b.states as string[] | undefined;
        const all = [...this.runs.values()].filter(
          (r) => (!ids || ids.includes(r.dag_id)) && (!states || states.includes(r.state)),
        );
        const [offset, limit] = this.page(b);
        this.batchCalls += 1;
        return [
          200,
          {
            dag_runs: all.slice(offset, offset + limit).map((r) => this.runJson(r)),
            total_entries: all.length,
          },
        ];
      }
      case 'get_import_errors': {
        const limit = Number(q.limit ?? (this.opts.api === 'v2' ? 50 : 100));
        const offset = Number(q.offset ?? 0);
        const all = this.importErrors.map((e, i) => ({
          import_error_id: i + 1,
          timestamp: new Date(this.opts.now()).toISOString(),
          filename: e.filename,
          stack_trace: e.stack_trace,
          ...(this.opts.api === 'v2' ? { bundle_name: 'dags-folder' } : {}),
        }));
        return [200, { import_errors: all.slice(offset, offset + limit), total_entries: all.length }];
      }
      case 'get_variables': {
        const limit = Number(q.limit ?? (this.opts.api === 'v2' ? 50 : 100));
        const offset = Number(q.offset ?? 0);
        const all = [...this.variables.values()].sort((a, c) => a.key.localeCompare(c.key));
        const shown = all
          .slice(offset, offset + limit)
          .map((v) =>
            this.opts.api === 'v2' ? v : { key: v.key, value: v.value, description: v.description },
          );
        return [200, { variables: shown, total_entries: all.length }];
      }
      case 'post_variable':
      case 'post_variables': {
        if (this.variables.has(String(b.key))) {
          const detail = `The Variable with key: \`${String(b.key)}\` already exists`;
          return [409, this.opts.api === 'v2' ? { detail } : this.err(409, detail)];
        }
        const v = {
          key: String(b.key),
          value: typeof b.value === 'string' ? b.value : JSON.stringify(b.value),
          description: typeof b.description === 'string' ? b.description : null,
          is_encrypted: true,
        };
        this.variables.set(v.key, v);
        return this.opts.api === 'v2'
          ? [201, v]
          : [200, { key: v.key, value: v.value, description: v.description }];
      }
      case 'get_task_instances_batch': {
        const ids = b.dag_ids as string[] | undefined;
        const runIds = b.dag_run_ids as string[] | undefined;
        const all = [...this.runs.values()]
          .filter((r) => (!ids || ids.includes(r.dag_id)) && (!runIds || runIds.includes(r.dag_run_id)))
          .flatMap((r) => [...r.tis.entries()].map(([t, ti]) => this.tiJson(r, t, ti)));
        const [offset, limit] = this.page(b);
        this.batchCalls += 1;
        return [200, { task_instances: all.slice(offset, offset + limit), total_entries: all.length }];
      }
      case 'get_task_instances': {
        const r = this.run(p.dag_id ?? '', p.dag_run_id ?? '');
        if (!r) return this.notFound('DagRun not found');
        const tis = [...r.tis.entries()].map(([t, ti]) => this.tiJson(r, t, ti));
        return [200, { task_instances: tis, total_entries: tis.length }];
      }
      case 'get_log': {
        const r = this.run(p.dag_id ?? '', p.dag_run_id ?? '');
        const ti = r?.tis.get(p.task_id ?? '');
        if (!r || !ti) return this.notFound('TaskInstance not found');
        const tryNumber = Number(p.try_number ?? p.task_try_number);
        ti.logs ??= new Map();
        const lines = ti.logs.get(tryNumber) ?? [];
        ti.logs.set(tryNumber, lines);
        const stateLine = `[${r.dag_run_id}] ${p.task_id} try ${tryNumber}: state ${ti.state}`;
        if (tryNumber === ti.try_number && !lines.includes(stateLine)) lines.push(stateLine);
        return [
          200,
          this.opts.api === 'v2'
            ? { content: lines.map((event) => ({ event })), continuation_token: null }
            : { content: lines.join('\n'), continuation_token: '' },
        ];
      }
      case 'post_clear_task_instances': {
        // Airflow's rule: one named run, or (with include_past / include_future, or no run named)
        // every run whose logical date is in [start_date, end_date]; an open bound is no bound.
        const covered = this.clearedRuns(p.dag_id ?? '', b);
        if ('error' in covered) return covered.error;
        const { runs } = covered;
        const cleared: [FakeRun, string][] = [];
        for (const r of runs) {
          const ids = (b.task_ids as string[] | undefined) ?? [...r.tis.keys()];
          let any = false;
          for (const id of ids) {
            const ti = r.tis.get(id);
            if (!ti || (b.only_failed !== false && ti.state !== 'failed' && ti.state !== 'upstream_failed'))
              continue;
            cleared.push([r, id]);
            any = true;
            if (b.dry_run !== true) ti.state = null;
          }
          if (b.dry_run !== true && any) r.state = 'queued';
        }
        if (this.opts.api === 'v2') {
          const tis = cleared.map(([r, t]) => this.tiJson(r, t, r.tis.get(t) as FakeTi));
          return [200, { task_instances: tis, total_entries: tis.length }];
        }
        return [
          200,
          {
            task_instances: cleared.map(([r, task_id]) => ({
              task_id,
              dag_id: r.dag_id,
              dag_run_id: r.dag_run_id,
              execution_date: r.logical_date ?? r.run_after,
            })),
          },
        ];
      }
      default:
        this.violations.push(`the fake does not implement ${opId}`);
        return [501, { detail: `not implemented: ${opId}` }];
    }
  }

  /** The runs a clear covers, or Airflow's error answer. */
  private clearedRuns(
    dagId: string,
    b: Record<string, unknown>,
  ): { runs: FakeRun[] } | { error: [number, unknown] } {
    const past = b.include_past === true;
    const future = b.include_future === true;
    let start = str(b.start_date);
    let end = str(b.end_date);
    if (typeof b.dag_run_id === 'string') {
      const r = this.run(dagId, b.dag_run_id);
      if (!r) return { error: this.notFound(`Dag Run id ${b.dag_run_id} not found in dag ${dagId}`) };
      if (!past && !future) return { runs: [r] };
      if (r.logical_date === null) {
        const detail =
          'Cannot use include_past or include_future with no logical_date(e.g. manually or asset-triggered).';
        return { error: [400, this.opts.api === 'v2' ? { detail } : this.err(400, detail)] };
      }
      start = r.logical_date;
      end = r.logical_date;
    }
    if (past) start = undefined;
    if (future) end = undefined;
    return {
      runs: [...this.runs.values()].filter((r) => r.dag_id === dagId && inRange(r.logical_date, start, end)),
    };
  }

  private trigger(dagId: string, b: Record<string, unknown>): [number, unknown] {
    const d = this.dags.get(dagId);
    if (!d) return this.notFound(`DAG with dag_id: '${dagId}' not found`);
    const now = new Date(this.opts.now()).toISOString();
    const logical = typeof b.logical_date === 'string' ? b.logical_date : this.opts.api === 'v1' ? now : null;
    const runId = typeof b.dag_run_id === 'string' ? b.dag_run_id : `manual__${logical ?? now}`;
    if (this.runs.has(`${dagId}/${runId}`)) {
      return [
        409,
        this.opts.api === 'v2'
          ? this.uniqueViolation('dag_run', 'dag_run.dag_id, dag_run.run_id')
          : this.err(409, `DAGRun with DAG ID: '${dagId}' and DAGRun ID: '${runId}' already exists`),
      ];
    }
    if (
      this.opts.api === 'v1' &&
      [...this.runs.values()].some((r) => r.dag_id === dagId && r.logical_date === logical)
    ) {
      return [
        409,
        this.err(
          409,
          `DAGRun with DAG ID: '${dagId}' and DAGRun logical date: '${pythonIso(logical)}' already exists`,
        ),
      ];
    }
    const r: FakeRun = {
      dag_id: dagId,
      dag_run_id: runId,
      state: 'queued',
      conf: (b.conf as Record<string, unknown> | undefined) ?? {},
      note: typeof b.note === 'string' ? b.note : null,
      logical_date: logical,
      run_after: now,
      tis: new Map((d.tasks ?? []).map((t) => [t, { state: null, try_number: 0 }])),
    };
    this.runs.set(`${dagId}/${runId}`, r);
    return [200, this.runJson(r)];
  }

  private dagJson(d: FakeDag, details: boolean): Record<string, unknown> {
    const fileloc = d.fileloc ?? `/opt/airflow/dags/${d.dag_id}.py`;
    const parsed = d.last_parsed ?? new Date(this.opts.now()).toISOString();
    if (this.opts.api === 'v1') {
      const base = {
        dag_id: d.dag_id,
        dag_display_name: d.dag_id,
        description: d.description ?? null,
        owners: d.owners ?? ['airflow'],
        tags: (d.tags ?? []).map((name) => ({ name })),
        is_paused: d.is_paused ?? false,
        is_active: true,
        is_subdag: false,
        fileloc,
        file_token: 'ft',
        has_import_errors: d.has_import_errors ?? false,
        has_task_concurrency_limits: false,
        max_active_runs: 16,
        max_active_tasks: 16,
        max_consecutive_failed_dag_runs: 0,
        last_parsed_time: parsed,
        timetable_description: d.schedule ? `cron ${d.schedule}` : 'Never, external triggers only',
        schedule_interval: d.schedule ? { __type: 'CronExpression', value: d.schedule } : null,
      };
      return details
        ? { ...base, params: d.params ?? {}, catchup: false, doc_md: null, last_parsed: parsed }
        : base;
    }
    const base = {
      dag_id: d.dag_id,
      dag_display_name: d.dag_id,
      description: d.description ?? null,
      owners: d.owners ?? ['airflow'],
      tags: (d.tags ?? []).map((name) => ({ name, dag_id: d.dag_id, dag_display_name: d.dag_id })),
      is_paused: d.is_paused ?? false,
      is_stale: false,
      fileloc,
      file_token: 'ft',
      timetable_partitioned: false,
      has_import_errors: d.has_import_errors ?? false,
      has_task_concurrency_limits: false,
      max_active_runs: 16,
      max_active_tasks: 16,
      max_consecutive_failed_dag_runs: 0,
      last_parsed_time: parsed,
      timetable_summary: d.schedule ?? null,
      timetable_description: d.schedule ? `cron ${d.schedule}` : 'Never, external triggers only',
    };
    return details
      ? {
          ...base,
          params: d.params ?? {},
          catchup: false,
          render_template_as_native_obj: false,
          concurrency: 16,
          last_parsed: parsed,
        }
      : base;
  }

  private runJson(r: FakeRun): Record<string, unknown> {
    if (this.opts.api === 'v1') {
      return {
        dag_id: r.dag_id,
        dag_run_id: r.dag_run_id,
        state: r.state,
        conf: r.conf,
        note: r.note,
        logical_date: r.logical_date,
        execution_date: r.logical_date,
        external_trigger: true,
        run_type: 'manual',
        start_date: r.state === 'queued' ? null : r.run_after,
        end_date:
          r.state === 'success' || r.state === 'failed' ? new Date(this.opts.now()).toISOString() : null,
      };
    }
    return {
      dag_id: r.dag_id,
      dag_display_name: r.dag_id,
      dag_run_id: r.dag_run_id,
      state: r.state,
      conf: r.conf,
      note: r.note,
      logical_date: r.logical_date,
      run_after: r.run_after,
      run_type: 'manual',
      triggered_by: 'rest_api',
      dag_versions: [
        {
          id: randomUUID(),
          version_number: 1,
          dag_id: r.dag_id,
          dag_display_name: r.dag_id,
          created_at: r.run_after,
        },
      ],
      start_date: r.state === 'queued' ? null : r.run_after,
      end_date:
        r.state === 'success' || r.state === 'failed' ? new Date(this.opts.now()).toISOString() : null,
    };
  }

  private tiJson(r: FakeRun, taskId: string, ti: FakeTi): Record<string, unknown> {
    const common = {
      task_id: taskId,
      dag_id: r.dag_id,
      dag_run_id: r.dag_run_id,
      map_index: -1,
      try_number: ti.try_number,
      max_tries: 1,
      state: ti.state,
      pool: 'default_pool',
      pool_slots: 1,
      task_display_name: taskId,
    };
    if (this.opts.api === 'v1') return { ...common, execution_date: r.logical_date, executor_config: '{}' };
    return {
      ...common,
      id: randomUUID(),
      dag_display_name: r.dag_id,
      run_after: r.run_after,
      logical_date: r.logical_date,
      executor_config: '{}',
    };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Airflow 2.10's `EXCEPTIONS_LINK_MAP` names and default titles, by status. */
const V1_ERRORS: Record<number, [string, string]> = {
  400: ['BadRequest', 'Bad Request'],
  401: ['Unauthenticated', 'Unauthorized'],
  403: ['PermissionDenied', 'Forbidden'],
  404: ['NotFound', 'Not Found'],
  409: ['AlreadyExists', 'Conflict'],
  500: ['Unknown', 'Internal Server Error'],
};

/** A date as Python's `isoformat(sep=' ')` writes it (`2026-01-01 00:00:00+00:00`). */
function pythonIso(iso: string | null): string {
  if (!iso) return String(iso);
  const d = new Date(iso).toISOString();
  const ms = d.slice(20, 23);
  return `${d.slice(0, 10)} ${d.slice(11, 19)}${ms === '000' ? '' : `.${ms}000`}+00:00`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Airflow's SQL: `logical_date >= start AND logical_date <= end`, so a run without one is in no bounded range. */
function inRange(logical: string | null, start: string | undefined, end: string | undefined): boolean {
  if (start === undefined && end === undefined) return true;
  if (logical === null) return false;
  const t = Date.parse(logical);
  return (start === undefined || t >= Date.parse(start)) && (end === undefined || t <= Date.parse(end));
}
