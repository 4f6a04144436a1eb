/** One run: its graph coloured by state (live), its logs (streaming), who started it and how, its approval, and cancel. */
import {
  Badge,
  Button,
  Card,
  Code,
  DataList,
  Flex,
  Heading,
  SegmentedControl,
  Spinner,
  Text,
  TextField,
} from '@radix-ui/themes';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { lazy, Suspense, useCallback, useDeferredValue, useEffect, useRef, useState } from 'react';
import { type Approval, type AuditRecord, api, type Dag, qs, type Run, type TaskInstance } from '../api.ts';
import { DagGraph } from '../components/dag-graph.tsx';
import { ErrorCallout } from '../components/error-callout.tsx';
import { StateBadge } from '../components/state-badge.tsx';
import { When } from '../components/when.tsx';
import { type LiveEvent, useLiveEvents } from '../use-live-events.ts';

// The chart library loads with the chart, not with the rest of the run page.
const AttemptsGantt = lazy(() =>
  import('../components/attempts-gantt.tsx').then((m) => ({ default: m.AttemptsGantt })),
);

const NO_TASKS: TaskInstance[] = [];

const FINAL = new Set(['success', 'failed', 'cancelled', 'rejected', 'expired']);

export function RunPage() {
  const { runId } = useParams({ from: '/runs/$runId' });
  const client = useQueryClient();
  const run = useQuery({
    queryKey: ['run', runId],
    queryFn: () => api<{ run: Run; tasks: TaskInstance[] }>(`/api/v1/runs/${encodeURIComponent(runId)}`),
  });
  // Task and run changes apply to the cache at once; the refetch then brings the rest of the row.
  const onEvent = useCallback(
    (e: LiveEvent) => {
      if (e.runId !== runId) return;
      client.setQueryData<{ run: Run; tasks: TaskInstance[] }>(['run', runId], (old) => {
        if (!old || !e.state) return old;
        if (e.type === 'run') return { ...old, run: { ...old.run, state: e.state } };
        if (e.type === 'task') {
          const known = old.tasks.some((t) => t.task_id === e.taskId);
          const tasks = known
            ? old.tasks.map((t) => (t.task_id === e.taskId ? { ...t, state: e.state as string } : t))
            : [
                ...old.tasks,
                {
                  run_id: runId,
                  task_id: e.taskId ?? '',
                  state: e.state,
                  try_number: 1,
                  max_tries: 1,
                  error: null,
                  updated_at: Date.now(),
                },
              ];
          return { ...old, tasks };
        }
        return old;
      });
      void client.invalidateQueries({ queryKey: ['run', runId] });
      if (e.type === 'approval') void client.invalidateQueries({ queryKey: ['approvals'] });
    },
    [client, runId],
  );
  useLiveEvents(onEvent);
  const deferredTasks = useDeferredValue(run.data?.tasks ?? NO_TASKS);
  if (run.isPending) return <Spinner aria-label="Loading the run" />;
  if (run.error) return <ErrorCallout error={run.error} />;
  const r = run.data.run;
  const states = Object.fromEntries(run.data.tasks.map((t) => [t.task_id, t.state]));
  return (
    <Flex direction="column" gap="4">
      <Flex align="center" gap="3" wrap="wrap">
        <Heading as="h2" size="6">
          Run of{' '}
          <Link to="/dags/$env/$dagId" params={{ env: r.env, dagId: r.dag_id }}>
            {r.dag_id}
          </Link>
        </Heading>
        <Badge variant="outline">{r.env}</Badge>
        <span data-testid="run-state" data-state={r.state}>
          <StateBadge state={r.state} />
        </span>
        {r.break_glass ? <Badge color="red">break-glass</Badge> : null}
      </Flex>
      <Card>
        <DataList.Root size="2">
          <DataList.Item>
            <DataList.Label>Run</DataList.Label>
            <DataList.Value>
              <Code>{r.id}</Code>
            </DataList.Value>
          </DataList.Item>
          <DataList.Item>
            <DataList.Label>Triggered by</DataList.Label>
            <DataList.Value>
              {r.requested_by} ({r.requested_by_kind}) through {r.source}
            </DataList.Value>
          </DataList.Item>
          <DataList.Item>
            <DataList.Label>Created</DataList.Label>
            <DataList.Value>
              <When ms={r.created_at} />
            </DataList.Value>
          </DataList.Item>
          <DataList.Item>
            <DataList.Label>Started / ended</DataList.Label>
            <DataList.Value>
              <When ms={r.started_at} /> &nbsp;/&nbsp; <When ms={r.ended_at} />
            </DataList.Value>
          </DataList.Item>
          <DataList.Item>
            <DataList.Label>Params</DataList.Label>
            <DataList.Value>
              <Code data-testid="run-params">{JSON.stringify(r.params)}</Code>
            </DataList.Value>
          </DataList.Item>
          <DataList.Item>
            <DataList.Label>Params hash · DAG version</DataList.Label>
            <DataList.Value>
              <Code>{r.params_hash.slice(0, 16)}</Code>&nbsp;·&nbsp;<Code>{r.dag_version.slice(0, 12)}</Code>
            </DataList.Value>
          </DataList.Item>
          {r.note ? (
            <DataList.Item>
              <DataList.Label>Note</DataList.Label>
              <DataList.Value>{r.note}</DataList.Value>
            </DataList.Item>
          ) : null}
          {r.error ? (
            <DataList.Item>
              <DataList.Label>Error</DataList.Label>
              <DataList.Value>{r.error}</DataList.Value>
            </DataList.Item>
          ) : null}
        </DataList.Root>
      </Card>
      <RunGraph run={r} states={states} />
      <Card>
        <Heading as="h3" size="3" mb="2">
          Attempts
        </Heading>
        <Suspense fallback={<Spinner aria-label="Loading the chart" />}>
          <AttemptsGantt tasks={deferredTasks} />
        </Suspense>
      </Card>
      <RunApproval runId={r.id} />
      <Decisions runId={r.id} />
      {!FINAL.has(r.state) ? <Cancel runId={r.id} /> : null}
      <Logs runId={r.id} tasks={run.data.tasks.map((t) => t.task_id)} />
    </Flex>
  );
}

function RunGraph({ run, states }: { run: Run; states: Record<string, string> }) {
  const dag = useQuery({
    queryKey: ['dag', run.env, run.dag_id],
    queryFn: () => api<Dag>(`/api/v1/dags/${encodeURIComponent(run.dag_id)}${qs({ env: run.env })}`),
  });
  return (
    <Card>
      <Heading as="h3" size="3" mb="2">
        Tasks
      </Heading>
      <Flex gap="2" wrap="wrap" mb="2" data-testid="task-states">
        {Object.entries(states).map(([task, state]) => (
          <Text key={task} size="2" data-task={task} data-state={state}>
            {task} <StateBadge state={state} />
          </Text>
        ))}
      </Flex>
      {dag.data ? (
        <DagGraph tasks={dag.data.tasks} states={states} />
      ) : dag.error ? (
        <ErrorCallout error={dag.error} />
      ) : (
        <Spinner />
      )}
    </Card>
  );
}

function RunApproval({ runId }: { runId: string }) {
  const approvals = useQuery({
    queryKey: ['approvals'],
    queryFn: () => api<{ actionable: Approval[]; mine: Approval[] }>('/api/v1/approvals'),
  });
  const found = [...(approvals.data?.actionable ?? []), ...(approvals.data?.mine ?? [])].find(
    (a) => a.run_id === runId,
  );
  if (!found) return null;
  return (
    <Card data-testid="run-approval">
      <Heading as="h3" size="3" mb="2">
        Approval
      </Heading>
      <Text as="p" size="2">
        {found.state}: {found.votes.filter((v) => v.vote === 'approve').length} of {found.quorum} approvals
        {found.expires_at ? (
          <>
            , expires <When ms={found.expires_at} />
          </>
        ) : null}
        .{' '}
        <Link to="/approvals/$approvalId" params={{ approvalId: found.id }} data-testid="run-approval-link">
          Open the request
        </Link>{' '}
        (its params, why, votes{found.state === 'pending' ? ', and the vote' : ''})
      </Text>
      {found.reason ? (
        <Text size="2" color="gray">
          Why: {found.reason}
        </Text>
      ) : null}
      {found.votes.map((v) => (
        <Text as="p" key={`${v.voter}-${v.created_at}`} size="2">
          {v.voter} voted {v.vote} <When ms={v.created_at} />
          {v.comment ? `: “${v.comment}”` : ''}
        </Text>
      ))}
    </Card>
  );
}

/** The decision records of this run, for those who may read the audit trail. */
function Decisions({ runId }: { runId: string }) {
  const records = useQuery({
    queryKey: ['audit', 'run', runId],
    queryFn: () => api<{ records: AuditRecord[] }>(`/api/v1/audit${qs({ run: runId, limit: 100 })}`),
    retry: false,
  });
  if (!records.data || records.data.records.length === 0) return null;
  return (
    <Card>
      <Heading as="h3" size="3" mb="2">
        Decisions and audit
      </Heading>
      {records.data.records.map((rec) => (
        <Text as="p" key={rec.seq} size="2">
          <When ms={rec.ts} /> <Code>{rec.action}</Code> by {rec.actor?.id ?? '—'} via {rec.source ?? '—'}:{' '}
          {rec.outcome ?? ''}
          {Array.isArray((rec.decision as { policies?: string[] } | null)?.policies)
            ? ` (policies: ${((rec.decision as { policies: string[] }).policies ?? []).join(', ')})`
            : ''}
        </Text>
      ))}
    </Card>
  );
}

function Cancel({ runId }: { runId: string }) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>();
  const client = useQueryClient();
  return (
    <Card>
      <Flex gap="2" align="end" wrap="wrap">
        <label className="field">
          <Text size="2" weight="bold">
            Cancel this run
          </Text>
          <TextField.Root
            placeholder="reason (kept in the audit trail)"
            value={reason}
            onChange={(e) => setReason(e.target.value)}
          />
        </label>
        <Button
          color="red"
          variant="soft"
          onClick={async () => {
            setError(undefined);
            try {
              await api(`/api/v1/runs/${encodeURIComponent(runId)}/cancel`, {
                method: 'POST',
                body: reason.trim() ? { reason: reason.trim() } : {},
              });
              await client.invalidateQueries({ queryKey: ['run', runId] });
            } catch (e) {
              setError(e);
            }
          }}
        >
          Cancel run
        </Button>
      </Flex>
      {error ? <ErrorCallout error={error} /> : null}
    </Card>
  );
}

interface LogLine {
  id: number;
  task_id: string;
  line: string;
  ts?: number;
}

function Logs({ runId, tasks }: { runId: string; tasks: string[] }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [only, setOnly] = useState('all');
  const shown = only === 'all' ? lines : lines.filter((l) => l.task_id === only);
  const [ended, setEnded] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const after = useRef(0);
  useEffect(() => {
    const src = new EventSource(
      `/api/v1/runs/${encodeURIComponent(runId)}/logs${qs({ follow: 1, format: 'sse', after: after.current })}`,
    );
    src.addEventListener('log', (m) => {
      const line = JSON.parse((m as MessageEvent<string>).data) as LogLine;
      after.current = line.id;
      setLines((old) => [...old, line]);
    });
    src.addEventListener('end', (m) => {
      setEnded((JSON.parse((m as MessageEvent<string>).data) as { state: string }).state);
      src.close();
    });
    src.onerror = () => {
      if (src.readyState === EventSource.CLOSED) setFailed(true);
    };
    return () => src.close();
  }, [runId]);
  return (
    <Card>
      <Flex align="center" gap="3" mb="2" wrap="wrap">
        <Heading as="h3" size="3">
          Logs
        </Heading>
        {tasks.length > 1 ? (
          <SegmentedControl.Root
            size="1"
            value={only}
            onValueChange={setOnly}
            aria-label="Show the logs of"
            data-testid="log-task-filter"
          >
            <SegmentedControl.Item value="all">every task</SegmentedControl.Item>
            {tasks.map((t) => (
              <SegmentedControl.Item key={t} value={t}>
                {t}
              </SegmentedControl.Item>
            ))}
          </SegmentedControl.Root>
        ) : null}
      </Flex>
      {failed ? (
        <Text color="red">The log stream was refused or dropped: you may not read this run's logs.</Text>
      ) : null}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling log must be reachable by keyboard */}
      <pre className="logs" data-testid="logs" tabIndex={0}>
        {shown.length === 0
          ? ended
            ? 'no log lines'
            : 'waiting for log lines…'
          : shown.map((l) => `[${l.task_id}] ${l.line}`).join('\n')}
      </pre>
      {ended ? (
        <Text size="1" color="gray">
          stream ended: run {ended}
        </Text>
      ) : null}
    </Card>
  );
}
