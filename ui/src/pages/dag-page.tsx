/** One DAG: its task graph, the trigger form with its what-if line, the policies that decide, and its runs. */
import { Badge, Card, Code, Flex, Grid, Heading, Spinner, Table, Text } from '@radix-ui/themes';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { api, type Dag, explain, qs, type Run } from '../api.ts';
import { AccessBadge } from '../components/access-badge.tsx';
import { AirflowSchedule } from '../components/airflow-schedule.tsx';
import { DagGraph } from '../components/dag-graph.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { ErrorCallout } from '../components/error-callout.tsx';
import { StateBadge } from '../components/state-badge.tsx';
import { TriggerForm } from '../components/trigger-form.tsx';
import { When } from '../components/when.tsx';
import { useLiveInvalidation } from '../use-live-events.ts';
import { RunsOn } from './dags-page.tsx';

export function DagPage() {
  useLiveInvalidation();
  const { env, dagId } = useParams({ from: '/dags/$env/$dagId' });
  const dag = useQuery({
    queryKey: ['dag', env, dagId],
    queryFn: () => api<Dag>(`/api/v1/dags/${encodeURIComponent(dagId)}${qs({ env })}`),
  });
  if (dag.isPending) return <Spinner aria-label="Loading the DAG" />;
  if (dag.error) return <ErrorCallout error={dag.error} />;
  const d = dag.data;
  return (
    <Flex direction="column" gap="4">
      <Flex align="center" gap="3" wrap="wrap">
        <Heading as="h2" size="6">
          {d.dagId}
        </Heading>
        <Badge variant="outline">{d.env}</Badge>
        <AccessBadge env={d.env} dagId={d.dagId} access={d.trigger} />
        <RunsOn dag={d} />
        <Text size="1" color="gray">
          version <Code>{d.version.slice(0, 12)}</Code> · owner {d.owner ?? '—'} · schedule{' '}
          <Code>{d.schedule ?? 'manual'}</Code>
          {d.timezone ? ` (${d.timezone})` : ''}
        </Text>
      </Flex>
      {d.description ? <Text color="gray">{d.description}</Text> : null}
      <Card>
        <Heading as="h3" size="3" mb="2">
          Tasks
        </Heading>
        <DagGraph tasks={d.tasks} />
      </Card>
      <Grid columns={{ initial: '1', md: '2' }} gap="4">
        <Card>
          <Heading as="h3" size="3" mb="2">
            Trigger
          </Heading>
          <TriggerForm dag={d} />
        </Card>
        <Flex direction="column" gap="4">
          {d.runsOn === 'airflow' ? (
            <Card>
              <Heading as="h3" size="3" mb="2">
                Airflow schedule
              </Heading>
              <AirflowSchedule dag={d} />
            </Card>
          ) : null}
          <Policies dag={d} />
          <Card>
            <Heading as="h3" size="3" mb="2">
              Params schema
            </Heading>
            <pre className="json">{JSON.stringify(d.paramsSchema, null, 2)}</pre>
          </Card>
        </Flex>
      </Grid>
      <RunHistory env={env} dagId={dagId} />
    </Flex>
  );
}

function Policies({ dag }: { dag: Dag }) {
  const why = useQuery({
    queryKey: ['explain', dag.env, dag.dagId, 'trigger', {}],
    queryFn: () => explain({ action: 'trigger', dagId: dag.dagId, env: dag.env }),
  });
  return (
    <Card>
      <Heading as="h3" size="3" mb="2">
        Policies that decide a trigger
      </Heading>
      {why.isPending ? (
        <Spinner />
      ) : why.error ? (
        <ErrorCallout error={why.error} />
      ) : (
        <Flex direction="column" gap="2" data-testid="policies">
          <Text size="2">
            Decision for you with the default params: <Code>{why.data.effect}</Code>
          </Text>
          {why.data.determining.length === 0 ? (
            <Text size="2" color="gray">
              No policy matched: denied by default.{' '}
              {why.data.wouldAllow.length ? `Would allow: ${why.data.wouldAllow.join('; ')}` : ''}
            </Text>
          ) : null}
          {why.data.determining.map((p) => (
            <Flex key={p.id} direction="column" gap="1">
              <Text size="2">
                <Badge color={p.effect === 'permit' ? 'green' : 'red'} highContrast>
                  {p.effect}
                </Badge>{' '}
                <Code>{p.id}</Code> {p.annotations.reason ?? ''}
              </Text>
              <pre className="json">{p.text}</pre>
            </Flex>
          ))}
        </Flex>
      )}
    </Card>
  );
}

function RunHistory({ env, dagId }: { env: string; dagId: string }) {
  const runs = useQuery({
    queryKey: ['runs', env, dagId],
    queryFn: () => api<{ runs: Run[] }>(`/api/v1/runs${qs({ env, dag: dagId, limit: 50 })}`),
  });
  return (
    <Flex direction="column" gap="2">
      <Heading as="h3" size="4">
        Runs
      </Heading>
      {runs.isPending ? (
        <Spinner />
      ) : runs.error ? (
        <ErrorCallout error={runs.error} />
      ) : runs.data.runs.length === 0 ? (
        <EmptyState title="No runs yet">
          Trigger one with the form above, or wait for its schedule.
        </EmptyState>
      ) : (
        <RunTable runs={runs.data.runs} />
      )}
    </Flex>
  );
}

export function RunTable({ runs }: { runs: Run[] }) {
  return (
    <Table.Root variant="surface" size="1">
      <Table.Header>
        <Table.Row>
          <Table.ColumnHeaderCell>Run</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>State</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>By</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>Via</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>Created</Table.ColumnHeaderCell>
        </Table.Row>
      </Table.Header>
      <Table.Body>
        {runs.map((r) => (
          <Table.Row key={r.id}>
            <Table.RowHeaderCell>
              <Link to="/runs/$runId" params={{ runId: r.id }}>
                <Code>{r.id.slice(0, 12)}</Code>
              </Link>
            </Table.RowHeaderCell>
            <Table.Cell>
              <StateBadge state={r.state} />
            </Table.Cell>
            <Table.Cell>{r.requested_by}</Table.Cell>
            <Table.Cell>
              {r.source}
              {r.break_glass ? ' (break-glass)' : ''}
            </Table.Cell>
            <Table.Cell>
              <When ms={r.created_at} />
            </Table.Cell>
          </Table.Row>
        ))}
      </Table.Body>
    </Table.Root>
  );
}
