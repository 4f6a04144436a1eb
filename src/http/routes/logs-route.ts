/**
 * `GET /api/v1/runs/{runId}/logs`: the run's log lines as NDJSON (default) or Server-Sent Events,
 * from a cursor. With `follow=1` the stream stays open, polling for new lines, until the run ends,
 * the client goes away or the server closes.
 * @module
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { getRunFor, readLogsFor } from '../../gate/gate-reads.ts';
import type { GateContext } from '../../gate/gate-types.ts';
import type { ApiDeps } from '../api-deps.ts';
import { authErrors, bearer, ID_PATTERN, idParam } from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';

const FINAL = new Set(['success', 'failed', 'cancelled', 'rejected', 'expired']);

interface LogsQuery {
  after?: number;
  task?: string;
  follow?: '0' | '1' | 'true' | 'false';
  format?: 'ndjson' | 'sse';
}

type LogLine = Awaited<ReturnType<typeof readLogsFor>>[number];

export async function logsRoute(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { gate } = deps.ac;
  app.get<{ Params: { runId: string }; Querystring: LogsQuery }>(
    '/runs/:runId/logs',
    {
      config: { auth: 'readLogs' },
      schema: {
        summary: 'Log lines, streamed as NDJSON or SSE; follow=1 streams until the run ends',
        tags: ['runs'],
        security: bearer,
        params: idParam('runId'),
        querystring: {
          type: 'object',
          properties: {
            after: { type: 'integer', minimum: 0, description: 'cursor: the last log line id already seen' },
            task: { type: 'string', pattern: ID_PATTERN },
            follow: {
              type: 'string',
              enum: ['0', '1', 'true', 'false'],
              description: '1: stream until the run ends',
            },
            format: { type: 'string', enum: ['ndjson', 'sse'] },
          },
          additionalProperties: false,
        },
        response: {
          200: { description: 'application/x-ndjson or text/event-stream', type: 'string' },
          ...authErrors,
        },
      },
    },
    async (req, reply) => {
      const ctx = gateContext(req);
      const q = req.query;
      const options = { ...(q.task ? { taskId: q.task } : {}), afterId: q.after ?? 0 };
      // The first read authorizes: a refusal is an ordinary problem response, not a broken stream.
      const first = await readLogsFor(gate, ctx, req.params.runId, options);
      const sse =
        q.format === 'sse' || (!q.format && (req.headers.accept ?? '').includes('text/event-stream'));
      const stop = new AbortController();
      const onClose = () => stop.abort();
      req.raw.once('close', onClose);
      deps.closing.addEventListener('abort', onClose, { once: true });
      // A request that arrives while the server is already closing gets what is there, then the end.
      if (deps.closing.aborted) stop.abort();
      const lines = follow(
        deps,
        ctx,
        req.params.runId,
        options,
        first,
        q.follow === '1' || q.follow === 'true',
        stop.signal,
      );
      const encode = sse ? sseEvent : ndjsonLine;
      const body = Readable.from(
        (async function* () {
          try {
            for await (const item of lines) yield encode(item);
          } finally {
            req.raw.off('close', onClose);
            deps.closing.removeEventListener('abort', onClose);
          }
        })(),
      );
      const done = new Promise<void>((resolve) => reply.raw.once('close', resolve));
      deps.streams.add(done);
      done.then(() => deps.streams.delete(done));
      reply
        .type(sse ? 'text/event-stream' : 'application/x-ndjson')
        .header('cache-control', 'no-store')
        .header('x-accel-buffering', 'no');
      return reply.send(body);
    },
  );

  type Item = { type: 'log'; line: LogLine } | { type: 'end'; state: string; after: number };

  async function* follow(
    d: ApiDeps,
    ctx: GateContext,
    runId: string,
    options: { taskId?: string; afterId: number },
    first: LogLine[],
    keepFollowing: boolean,
    signal: AbortSignal,
  ): AsyncGenerator<Item> {
    let after = options.afterId;
    let batch = first;
    for (;;) {
      for (const line of batch) {
        after = line.id;
        yield { type: 'log', line };
      }
      if (!keepFollowing || signal.aborted) break;
      const { run } = await getRunFor(gate, ctx, runId);
      if (FINAL.has(run.state)) {
        // Lines written just before the final transition are read once more before the end.
        for (const line of await readLogsFor(gate, ctx, runId, { ...options, afterId: after })) {
          after = line.id;
          yield { type: 'log', line };
        }
        yield { type: 'end', state: run.state, after };
        return;
      }
      try {
        await sleep(d.logPollMs, undefined, { signal });
      } catch {
        return;
      }
      batch = await readLogsFor(gate, ctx, runId, { ...options, afterId: after });
    }
    if (!signal.aborted) {
      const { run } = await getRunFor(gate, ctx, runId);
      yield { type: 'end', state: run.state, after };
    }
  }
}

function ndjsonLine(item: { type: string } & Record<string, unknown>): string {
  if (item.type === 'log') return `${JSON.stringify({ type: 'log', ...(item.line as object) })}\n`;
  return `${JSON.stringify(item)}\n`;
}

function sseEvent(item: { type: string } & Record<string, unknown>): string {
  if (item.type === 'log') {
    const line = item.line as LogLine;
    return `id: ${line.id}\nevent: log\ndata: ${JSON.stringify(line)}\n\n`;
  }
  return `event: end\ndata: ${JSON.stringify({ state: item.state, after: item.after })}\n\n`;
}
