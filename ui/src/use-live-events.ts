/**
 * Live changes from `GET /api/v1/events` (Server-Sent Events): each run, task or approval change
 * refreshes the queries that show it. One stream per page; the browser reconnects by itself.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';

export interface LiveEvent {
  type: 'run' | 'task' | 'approval';
  /** Null for a DAG action's approval request (an Airflow unpause). */
  runId: string | null;
  state?: string;
  taskId?: string;
  approvalId?: string;
}

const listeners = new Set<(e: LiveEvent) => void>();
let source: EventSource | undefined;

function connect(): void {
  if (source) return;
  source = new EventSource('/api/v1/events');
  for (const type of ['run', 'task', 'approval'] as const) {
    source.addEventListener(type, (m) => {
      const data = JSON.parse((m as MessageEvent<string>).data) as Omit<LiveEvent, 'type'>;
      for (const l of listeners) l({ type, ...data });
    });
  }
}

/** Calls `onEvent` for every change while the component is mounted. */
export function useLiveEvents(onEvent: (e: LiveEvent) => void): void {
  useEffect(() => {
    connect();
    listeners.add(onEvent);
    return () => {
      listeners.delete(onEvent);
    };
  }, [onEvent]);
}

/** Keeps lists of runs and approvals fresh: any change refreshes them. */
export function useLiveInvalidation(): void {
  const client = useQueryClient();
  useEffect(() => {
    connect();
    const onEvent = (e: LiveEvent) => {
      void client.invalidateQueries({ queryKey: ['run', e.runId] });
      void client.invalidateQueries({ queryKey: ['runs'] });
      if (e.type !== 'task') void client.invalidateQueries({ queryKey: ['approvals'] });
    };
    listeners.add(onEvent);
    return () => {
      listeners.delete(onEvent);
    };
  }, [client]);
}
