/**
 * `GET /api/v1/events`: a Server-Sent Events stream of run, task and approval changes, so the web UI
 * updates live without polling. Each change is sent only when Cedar lets the caller `view` its run
 * (asked once per run and connection), a comment heartbeat keeps proxies from closing an idle
 * stream, and the stream ends when the client leaves or the server closes. A DAG action's approval
 * request (an Airflow unpause) has no run: it is sent when the caller may `view` the DAG.
 * @module
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { EngineEvents } from '../../engine/engine.ts';
import type { GateEvents } from '../../gate/gate.ts';
import { allowedRun } from '../../gate/gate-reads.ts';
import type { ApiDeps } from '../api-deps.ts';
import { authErrors, bearer } from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';

/** How often an idle stream sends a comment line. */
export const HEARTBEAT_MS = 15_000;
/** Runs whose view decision a connection remembers; older ones are asked again. */
const REMEMBERED_RUNS = 1_000;

export async function eventsRoute(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { gate, engine } = deps.ac;
  app.get(
    '/events',
    {
      config: { auth: 'view' },
      schema: {
        summary: 'Live changes (SSE): event run, task and approval, for the runs the caller may view',
        tags: ['runs'],
        security: bearer,
        response: { 200: { description: 'text/event-stream', type: 'string' }, ...authErrors },
      },
    },
    async (req, reply) => {
      const ctx = gateContext(req);
      const out = new PassThrough();
      const allowed = new Map<string, Promise<boolean>>();
      const mayView = (runId: string): Promise<boolean> => {
        let known = allowed.get(runId);
        if (!known) {
          known = allowedRun(gate, ctx, runId, 'view').then(
            () => true,
            () => false,
          );
          if (allowed.size >= REMEMBERED_RUNS) allowed.delete(allowed.keys().next().value as string);
          allowed.set(runId, known);
        }
        return known;
      };
      // A DAG action's request (an Airflow unpause) has no run: it is shown to whom may view the DAG.
      const mayViewDag = (env: string, dagId: string): Promise<boolean> => {
        const key = `dag:${env}/${dagId}`;
        let known = allowed.get(key);
        if (!known) {
          known = Promise.resolve(
            gate.dags.find(env, dagId) !== undefined &&
              gate.policy.decide({
                principal: ctx.principal,
                action: 'view',
                resource: { kind: 'dag', env, dagId },
                context: { now: new Date(gate.now()), source: ctx.source },
              }).effect === 'allow',
          );
          if (allowed.size >= REMEMBERED_RUNS) allowed.delete(allowed.keys().next().value as string);
          allowed.set(key, known);
        }
        return known;
      };
      // Events are written in the order they happened, whatever each check costs.
      let queue: Promise<void> = Promise.resolve();
      const write = (event: string, may: () => Promise<boolean>, data: object) => {
        queue = queue.then(async () => {
          if (!out.writableEnded && (await may()) && !out.writableEnded) {
            out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
          }
        });
      };
      const send = (event: string, runId: string, data: object) => write(event, () => mayView(runId), data);
      const sendApproval = (a: GateEvents['approvalRequested'][0]['approval'], state: string) =>
        a.run_id
          ? send('approval', a.run_id, { approvalId: a.id, runId: a.run_id, state })
          : write('approval', () => mayViewDag(a.env, a.dag_id), {
              approvalId: a.id,
              runId: null,
              action: a.action,
              env: a.env,
              dagId: a.dag_id,
              state,
            });
      const onRun = (e: EngineEvents['run'][0]) => send('run', e.runId, e);
      const onTask = (e: EngineEvents['task'][0]) => send('task', e.runId, e);
      const onRequested = (e: GateEvents['approvalRequested'][0]) => sendApproval(e.approval, 'pending');
      const onClosed = (e: GateEvents['approvalClosed'][0]) => sendApproval(e.approval, e.state);
      engine.on('run', onRun);
      engine.on('task', onTask);
      gate.on('approvalRequested', onRequested);
      gate.on('approvalClosed', onClosed);
      const heartbeat = setInterval(() => out.write(': ping\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      const end = () => {
        clearInterval(heartbeat);
        engine.off('run', onRun);
        engine.off('task', onTask);
        gate.off('approvalRequested', onRequested);
        gate.off('approvalClosed', onClosed);
        deps.closing.removeEventListener('abort', end);
        if (!out.writableEnded) out.end();
      };
      req.raw.once('close', end);
      deps.closing.addEventListener('abort', end, { once: true });
      const done = new Promise<void>((resolve) => reply.raw.once('close', resolve));
      deps.streams.add(done);
      done.then(() => deps.streams.delete(done));
      // The first bytes tell the browser the stream is open (EventSource `open`), and when to retry.
      out.write(': connected\nretry: 2000\n\n');
      reply.type('text/event-stream').header('cache-control', 'no-store').header('x-accel-buffering', 'no');
      return reply.send(out);
    },
  );
}
