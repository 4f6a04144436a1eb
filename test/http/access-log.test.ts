import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpWorld, startHttpWorld } from './http-world.ts';

let h: HttpWorld | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the access log', () => {
  it('writes one line per request, with its path and status but not its query string or token', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    h = await startHttpWorld({ logger: pino({ level: 'info' }, sink) });
    const token = await h.token('eng@example.com');
    expect((await h.call('GET', '/api/v1/dags', { token })).status).toBe(200);
    // A query the route refuses is still logged, by its path.
    expect((await h.call('GET', '/api/v1/dags?code=secret-code-123', { token })).status).toBe(400);
    const refused = await h.call('GET', '/api/v1/dags', { token: 'not-a-token' });
    expect(refused.status).toBe(401);
    await new Promise((r) => setImmediate(r));
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.path !== undefined);
    expect(requests).toEqual([
      expect.objectContaining({ method: 'GET', path: '/api/v1/dags', statusCode: 200 }),
      expect.objectContaining({ method: 'GET', path: '/api/v1/dags', statusCode: 400 }),
      expect.objectContaining({ method: 'GET', path: '/api/v1/dags', statusCode: 401 }),
    ]);
    expect(requests[0].responseTime).toBeGreaterThan(0);
    expect(requests[0].msg).toMatch(/^GET \/api\/v1\/dags 200 in \d+ ms$/);
    const all = lines.join('\n');
    expect(all).not.toContain('secret-code-123');
    expect(all).not.toContain(token);
    expect(all).not.toContain('not-a-token');
  });
});
