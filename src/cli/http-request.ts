/**
 * One HTTP request on `node:http`/`node:https`: the CLI's transport. Not `fetch`, whose first use
 * loads undici (about 70 internal modules, tens of milliseconds on every command).
 * @module
 */
import type { IncomingMessage } from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly ok: boolean;
  header(name: string): string | undefined;
  /** The body, unread: iterate it to stream. */
  readonly body: IncomingMessage;
  text(): Promise<string>;
  /** Drops the body unread. */
  discard(): void;
}

/**
 * Sends one request and resolves once the answer's status and headers arrive; the body is read
 * after, for as long as it streams. A server that does not begin to answer within `timeoutMs`
 * fails the request (`ETIMEDOUT`), so a hung server never hangs the command.
 */
export async function httpRequest(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number },
): Promise<HttpAnswer> {
  const target = new URL(url);
  const { request } = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(target, { method: init.method, headers: init.headers }, (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
    const timer = setTimeout(() => {
      const e = Object.assign(new Error(`no answer within ${init.timeoutMs} ms`), { code: 'ETIMEDOUT' });
      req.destroy(e);
    }, init.timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(init.body);
  });
  return {
    status: res.statusCode ?? 0,
    ok: (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300,
    header: (name) => {
      const v = res.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    body: res,
    async text() {
      res.setEncoding('utf8');
      let out = '';
      for await (const chunk of res) out += chunk;
      return out;
    },
    discard: () => res.destroy(),
  };
}
