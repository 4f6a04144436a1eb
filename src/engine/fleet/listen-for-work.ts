/**
 * Wakes a worker when work becomes ready: a dedicated connection LISTENs on the store's channel,
 * which triggers notify in the transaction that queues a run or a task (migration 0013). If the
 * connection drops, the worker still polls, and the listener reconnects.
 * @module
 */
import pg from 'pg';

export interface WorkListener {
  close(): Promise<void>;
}

/** The channel of the store in `schema`: one per schema, as the trigger names it. */
export function workChannel(schema: string): string {
  return `airclutch_work_${schema}`;
}

export async function listenForWork(
  url: string,
  schema: string,
  onWake: (table: string) => void,
  onError: (e: Error) => void,
): Promise<WorkListener> {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (n) => onWake(n.payload ?? ''));
    c.on('error', (e) => {
      onError(e);
      c.end().catch(() => undefined);
      if (!closed) retry = setTimeout(() => connect().catch(onError), 1_000);
    });
    await c.connect();
    await c.query(`listen "${workChannel(schema).replaceAll('"', '""')}"`);
    client = c;
    onWake('listen');
  };
  await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
