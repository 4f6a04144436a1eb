/** Every DAG the person may see, in every environment, with what they may do with it and its recent runs. */
import { Badge, Callout, Flex, Heading, Select, Spinner, Table, Text, TextField } from '@radix-ui/themes';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { Cron } from 'croner';
import { memo, type Ref, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { type Access, api, type Dag, type ImportError, type Run } from '../api.ts';
import { ACCESS_LABEL, AccessBadge } from '../components/access-badge.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { ErrorCallout } from '../components/error-callout.tsx';
import { STATE_COLORS } from '../components/state-badge.tsx';
import { When } from '../components/when.tsx';
import { useLiveInvalidation } from '../use-live-events.ts';

export function DagsPage() {
  useLiveInvalidation();
  const search = useSearch({ from: '/' });
  const navigate = useNavigate({ from: '/' });
  const dags = useQuery({ queryKey: ['dags'], queryFn: () => api<{ dags: Dag[] }>('/api/v1/dags') });
  const importErrors = useQuery({
    queryKey: ['import-errors'],
    queryFn: () => api<{ errors: ImportError[] }>('/api/v1/import-errors'),
  });
  const runs = useQuery({
    queryKey: ['runs', 'recent'],
    queryFn: () => api<{ runs: Run[] }>('/api/v1/runs?limit=1000'),
  });
  const recent = useMemo(() => {
    const by = new Map<string, Run[]>();
    for (const r of runs.data?.runs ?? []) {
      const key = `${r.env}/${r.dag_id}`;
      const list = by.get(key) ?? [];
      if (list.length < 10) list.push(r);
      by.set(key, list);
    }
    return by;
  }, [runs.data]);
  const envs = useMemo(() => [...new Set((dags.data?.dags ?? []).map((d) => d.env))].sort(), [dags.data]);
  const shown = useMemo(() => {
    const q = search.q?.toLowerCase() ?? '';
    return (dags.data?.dags ?? []).filter(
      (d) =>
        (!search.env || d.env === search.env) &&
        (!search.access || d.trigger === search.access) &&
        (!q ||
          d.dagId.toLowerCase().includes(q) ||
          (d.owner ?? '').toLowerCase().includes(q) ||
          d.tags.some((t) => t.toLowerCase().includes(q)) ||
          (d.description ?? '').toLowerCase().includes(q)),
    );
  }, [dags.data, search]);

  const set = (k: 'q' | 'env' | 'access', v: string | undefined) =>
    navigate({ search: (s) => ({ ...s, [k]: v || undefined }), replace: true });

  return (
    <Flex direction="column" gap="4">
      <Heading as="h2" size="6">
        DAGs
      </Heading>
      <Flex gap="3" wrap="wrap" align="end" role="search">
        <TextField.Root
          aria-label="Search DAGs by name, owner, tag or description"
          placeholder="Search name, owner, tag…"
          value={search.q ?? ''}
          onChange={(e) => set('q', e.target.value)}
        />
        <Select.Root
          value={search.env ?? 'all'}
          onValueChange={(v) => set('env', v === 'all' ? undefined : v)}
        >
          <Select.Trigger aria-label="Environment" />
          <Select.Content>
            <Select.Item value="all">every environment</Select.Item>
            {envs.map((e) => (
              <Select.Item key={e} value={e}>
                {e}
              </Select.Item>
            ))}
          </Select.Content>
        </Select.Root>
        <Select.Root
          value={search.access ?? 'all'}
          onValueChange={(v) => set('access', v === 'all' ? undefined : v)}
        >
          <Select.Trigger aria-label="Your access" />
          <Select.Content>
            <Select.Item value="all">any access</Select.Item>
            {(['allow', 'approval', 'deny'] as const).map((a) => (
              <Select.Item key={a} value={a}>
                {ACCESS_LABEL[a]}
              </Select.Item>
            ))}
          </Select.Content>
        </Select.Root>
      </Flex>
      <ImportErrors
        errors={(importErrors.data?.errors ?? []).filter((e) => !search.env || e.env === search.env)}
      />
      {dags.isPending ? (
        <Spinner aria-label="Loading DAGs" />
      ) : dags.error ? (
        <ErrorCallout error={dags.error} />
      ) : dags.data.dags.length === 0 ? (
        <EmptyState title="No DAGs you may see">
          Either no DAG files are loaded (put them in a folder listed under your environment's dags in
          airclutch.config.ts), or no policy lets you view them: ask an admin for the view action.
        </EmptyState>
      ) : shown.length === 0 ? (
        <EmptyState title="Nothing matches these filters">
          Clear the search or pick another environment.
        </EmptyState>
      ) : (
        <DagTable dags={shown} recent={recent} />
      )}
    </Flex>
  );
}

/** Rows are virtualised (only those near the viewport are in the DOM): 1,000 DAGs render as fast as 30. */
const DagTable = memo(function DagTable({ dags, recent }: { dags: Dag[]; recent: Map<string, Run[]> }) {
  const body = useRef<HTMLTableSectionElement>(null);
  const [offset, setOffset] = useState(0);
  useLayoutEffect(() => {
    if (body.current) setOffset(body.current.getBoundingClientRect().top + window.scrollY);
  }, []);
  const rows = useWindowVirtualizer({
    count: dags.length,
    estimateSize: () => 53,
    overscan: 8,
    scrollMargin: offset,
  });
  const items = rows.getVirtualItems();
  const before = items.length ? items[0]!.start - rows.options.scrollMargin : 0;
  const after = items.length ? rows.getTotalSize() - items[items.length - 1]!.end : 0;
  return (
    <Table.Root variant="surface" size="1" data-testid="dag-table" data-rows={dags.length}>
      <Table.Header>
        <Table.Row>
          <Table.ColumnHeaderCell>DAG</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>Env</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>Runs on</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>Schedule</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>Next run</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>Last runs</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>Owner</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>Tags</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>You may</Table.ColumnHeaderCell>
        </Table.Row>
      </Table.Header>
      <Table.Body ref={body}>
        {before > 0 ? <tr className="spacer" style={{ height: before }} /> : null}
        {items.map((item) => {
          const d = dags[item.index]!;
          return (
            <DagRow
              key={`${d.env}/${d.dagId}`}
              ref={rows.measureElement}
              index={item.index}
              dag={d}
              runs={recent.get(`${d.env}/${d.dagId}`) ?? []}
            />
          );
        })}
        {after > 0 ? <tr className="spacer" style={{ height: after }} /> : null}
      </Table.Body>
    </Table.Root>
  );
});

/** DAG files that did not load, here or in Airflow: what they are and where to look. */
function ImportErrors({ errors }: { errors: ImportError[] }) {
  if (errors.length === 0) return null;
  return (
    <Callout.Root color="red" role="region" aria-label="Import errors" data-testid="import-errors">
      <Callout.Text>
        <Text weight="bold">
          {errors.length} DAG file{errors.length === 1 ? '' : 's'} did not load
        </Text>
      </Callout.Text>
      <Flex direction="column" gap="1" asChild>
        <ul className="plain-list">
          {errors.map((e) => (
            <li
              key={`${e.env}:${e.file}:${e.dagId ?? ''}:${e.message}`}
              data-testid="import-error"
              data-env={e.env}
              data-source={e.source}
            >
              <Text size="2">
                <Badge variant="outline">{e.env}</Badge>{' '}
                <Badge color={e.source === 'airflow' ? 'cyan' : 'gray'} variant="soft" highContrast>
                  {e.source === 'airflow' ? 'Airflow' : 'local file'}
                </Badge>{' '}
                <code>
                  {e.file}
                  {e.line ? `:${e.line}${e.column ? `:${e.column}` : ''}` : ''}
                </code>
                {e.dagId ? <> (DAG {e.dagId})</> : null}: {e.message}
              </Text>
            </li>
          ))}
        </ul>
      </Flex>
    </Callout.Root>
  );
}

function DagRow({
  dag,
  runs,
  index,
  ref,
}: {
  dag: Dag;
  runs: Run[];
  index: number;
  ref: Ref<HTMLTableRowElement>;
}) {
  return (
    <Table.Row ref={ref} data-index={index} data-testid="dag-row" data-dag={`${dag.env}/${dag.dagId}`}>
      <Table.RowHeaderCell>
        <Link to="/dags/$env/$dagId" params={{ env: dag.env, dagId: dag.dagId }}>
          {dag.dagId}
        </Link>
        {dag.description ? (
          <Text as="div" size="1" color="gray">
            {dag.description}
          </Text>
        ) : null}
      </Table.RowHeaderCell>
      <Table.Cell>
        <Badge variant="outline">{dag.env}</Badge>
      </Table.Cell>
      <Table.Cell>
        <RunsOn dag={dag} />
      </Table.Cell>
      <Table.Cell>
        <code>{dag.schedule ?? 'manual'}</code>
      </Table.Cell>
      <Table.Cell>
        <When ms={nextRun(dag)} plain />
      </Table.Cell>
      <Table.Cell>
        <Flex gap="1" aria-label={`last runs: ${runs.map((r) => r.state).join(', ') || 'none'}`}>
          {runs.length === 0 ? (
            <Text size="1" color="gray">
              none yet
            </Text>
          ) : null}
          {runs.map((r) => (
            <Link
              key={r.id}
              to="/runs/$runId"
              params={{ runId: r.id }}
              className="run-mark"
              data-color={STATE_COLORS[r.state] ?? 'gray'}
              title={`${r.state}, ${new Date(r.created_at).toLocaleString()}`}
              aria-label={`run ${r.id}: ${r.state}`}
            />
          ))}
        </Flex>
      </Table.Cell>
      <Table.Cell>{dag.owner ?? '—'}</Table.Cell>
      <Table.Cell>
        <Flex gap="1" wrap="wrap">
          {dag.tags.map((t) => (
            <Badge key={t} color="gray" variant="soft">
              {t}
            </Badge>
          ))}
        </Flex>
      </Table.Cell>
      <Table.Cell>
        <AccessBadge env={dag.env} dagId={dag.dagId} access={dag.trigger as Access} />
      </Table.Cell>
    </Table.Row>
  );
}

function nextRun(dag: Dag): number | null {
  if (!dag.schedule) return null;
  try {
    return new Cron(dag.schedule, { timezone: dag.timezone ?? undefined }).nextRun()?.getTime() ?? null;
  } catch {
    return null;
  }
}

/** Where a DAG's runs execute: Airclutch's own engine, or the environment's Airflow. */
export function RunsOn({ dag }: { dag: Dag }) {
  return dag.runsOn === 'airflow' ? (
    <Flex gap="1" align="center" wrap="wrap">
      <Badge color="cyan" variant="soft" highContrast data-testid="runs-on" data-runs-on="airflow">
        Airflow
      </Badge>
      {dag.paused ? (
        // Where to unpause it (or ask to): the DAG page's Airflow schedule, with its what-if line.
        <Link
          to="/dags/$env/$dagId"
          params={{ env: dag.env, dagId: dag.dagId }}
          hash="airflow-schedule"
          data-testid="paused"
          title={`${dag.dagId} is paused in Airflow: unpause it, or ask to`}
        >
          <Badge color="amber" variant="soft" highContrast>
            paused · unpause…
          </Badge>
        </Link>
      ) : null}
    </Flex>
  ) : (
    <Badge color="gray" variant="soft" highContrast data-testid="runs-on" data-runs-on="local">
      local engine
    </Badge>
  );
}
