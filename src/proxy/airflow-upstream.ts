/**
 * The proxy's connection to one Airflow API server: keep-alive sockets, Airclutch's own credential
 * (a 401 refreshes it once), a deadline for Airflow's answer (`AIRFLOW_TIMEOUT`, 504), and the
 * answer as a stream, so that a large response is never held in memory. Buffered JSON is only for
 * the lists the proxy filters, with a cap on their size.
 * @module
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AirflowAuth } from '../airflow/airflow-auth.ts';
import { AirclutchError, describeThrown } from '../lib/errors.ts';

export interface UpstreamRequest {
  readonly method: string;
  /** Path and query, starting with `/api/`. */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  readonly body?: Buffer | undefined;
}

export interface UpstreamOptions {
  readonly baseUrl: string;
  readonly auth: AirflowAuth;
  readonly timeoutMs: number;
  /** Largest JSON answer `json()` reads (a filtered list). */
  readonly maxJsonBytes?: number;
}

export class AirflowUpstream {
  readonly #base: URL;
  readonly #o: UpstreamOptions;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;

  constructor(o: UpstreamOptions) {
    this.#o = o;
    this.#base = new URL(o.baseUrl);
    const https = this.#base.protocol === 'https:';
    this.#agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 256 })
      : new HttpAgent({ keepAlive: true, maxSockets: 256 });
    this.#request = https ? httpsRequest : httpRequest;
  }

  /** Airflow's answer, headers received and body unread; one more try with a fresh credential on a 401. */
  async send(r: UpstreamRequest, signal?: AbortSignal): Promise<IncomingMessage> {
    const first = await this.#once(r, signal);
    if (first.statusCode !== 401 || this.#o.auth.kind === 'basic') return first;
    first.resume();
    this.#o.auth.invalidate();
    return this.#once(r, signal);
  }

  /** Airflow's answer as JSON (for lists the proxy filters), at most `maxJsonBytes`. */
  async json(r: UpstreamRequest, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
    const res = await this.send({ ...r, headers: { ...r.headers, 'accept-encoding': 'identity' } }, signal);
    const max = this.#o.maxJsonBytes ?? 32 << 20;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of res) {
        size += (c as Buffer).length;
        if (size > max) {
          res.destroy();
          throw new AirclutchError(
            'AIRFLOW_REFUSED',
            `Airflow's answer to ${r.method} ${r.path.split('?')[0]} is larger than ${max} bytes; ask for a smaller page`,
            { details: { status: res.statusCode } },
          );
        }
        chunks.push(c as Buffer);
      }
    } catch (e) {
      if (e instanceof AirclutchError) throw e;
      throw this.#networkError(e, r);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: res.statusCode ?? 502, body };
  }

  close(): void {
    this.#agent.destroy();
  }

  async #once(r: UpstreamRequest, signal?: AbortSignal): Promise<IncomingMessage> {
    const headers: OutgoingHttpHeaders = { ...r.headers, authorization: await this.#o.auth.header() };
    if (r.body) headers['content-length'] = r.body.length;
    return new Promise((resolve, reject) => {
      const req = this.#request(
        {
          protocol: this.#base.protocol,
          hostname: this.#base.hostname,
          port: this.#base.port,
          method: r.method,
          path: r.path,
          headers,
          agent: this.#agent,
          ...(signal ? { signal } : {}),
        },
        (res) => {
          clearTimeout(timer);
          // A stalled body is cut after the same deadline of silence; the socket is kept alive for
          // the next call, so its listener goes when this answer ends.
          const socket = res.socket;
          const idle = () =>
            res.destroy(
              new AirclutchError(
                'AIRFLOW_TIMEOUT',
                `Airflow sent nothing of its answer to ${r.method} ${r.path.split('?')[0]} for ${this.#o.timeoutMs} ms`,
                { details: { timeoutMs: this.#o.timeoutMs } },
              ),
            );
          socket.setTimeout(this.#o.timeoutMs);
          socket.on('timeout', idle);
          res.once('close', () => {
            socket.off('timeout', idle);
            socket.setTimeout(0);
          });
          resolve(res);
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(
          new AirclutchError(
            'AIRFLOW_TIMEOUT',
            `Airflow at ${this.#o.baseUrl} did not answer ${r.method} ${r.path.split('?')[0]} within ${this.#o.timeoutMs} ms`,
            { details: { timeoutMs: this.#o.timeoutMs } },
          ),
        );
      }, this.#o.timeoutMs);
      req.once('error', (e) => {
        clearTimeout(timer);
        reject(this.#networkError(e, r));
      });
      req.end(r.body);
    });
  }

  #networkError(e: unknown, r: UpstreamRequest): AirclutchError {
    if (e instanceof AirclutchError) return e;
    const code = (e as { code?: unknown }).code;
    return new AirclutchError(
      'AIRFLOW_UNREACHABLE',
      `Airflow at ${this.#o.baseUrl} cannot be reached for ${r.method} ${r.path.split('?')[0]}: ${typeof code === 'string' ? code : describeThrown(e)}`,
      { cause: e },
    );
  }
}
