/**
 * The approvals inbox: what waits for the person's vote and what they asked for. Each request shows
 * exactly what would run (params diffed against the DAG's defaults, the params hash and DAG version);
 * a vote sends back the hash and version the person was shown, so a changed request is refused.
 */
import { Badge, Card, Code, Flex, Heading, Spinner, Text } from '@radix-ui/themes';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { type Approval, api, type Dag, qs, type Run } from '../api.ts';
import { EmptyState } from '../components/empty-state.tsx';
import { ErrorCallout } from '../components/error-callout.tsx';
import { ParamsDiff } from '../components/params-diff.tsx';
import { VoteForm } from '../components/vote-form.tsx';
import { When } from '../components/when.tsx';
import { useLiveInvalidation } from '../use-live-events.ts';

export function ApprovalsPage() {
  useLiveInvalidation();
  const list = useQuery({
    queryKey: ['approvals'],
    queryFn: () => api<{ actionable: Approval[]; mine: Approval[] }>('/api/v1/approvals'),
  });
  if (list.isPending) return <Spinner aria-label="Loading approvals" />;
  if (list.error) return <ErrorCallout error={list.error} />;
  const reviews = list.data.actionable.filter((a) => a.kind === 'review');
  const approvals = list.data.actionable.filter((a) => a.kind !== 'review');
  return (
    <Flex direction="column" gap="5">
      <Heading as="h2" size="6">
        Approvals
      </Heading>
      <Section
        title="Waiting for your vote"
        empty="Nothing waits for your vote. Requests you may approve appear here as soon as they are made."
      >
        {approvals.map((a) => (
          <ApprovalCard key={a.id} approval={a} canVote />
        ))}
      </Section>
      <Section title="Break-glass runs to review" empty="No break-glass run needs your review.">
        {reviews.map((a) => (
          <ApprovalCard key={a.id} approval={a} canVote testId="review" />
        ))}
      </Section>
      <Section
        title="What you asked for"
        empty="You have no open requests. Triggering a DAG that needs approval puts it here."
      >
        {list.data.mine.map((a) => (
          <ApprovalCard key={a.id} approval={a} canVote={false} />
        ))}
      </Section>
    </Flex>
  );
}

function Section({ title, empty, children }: { title: string; empty: string; children: React.ReactNode[] }) {
  return (
    <Flex direction="column" gap="3" asChild>
      <section aria-label={title}>
        <Heading as="h3" size="4">
          {title}
        </Heading>
        {children.length === 0 ? <EmptyState title={empty} /> : children}
      </section>
    </Flex>
  );
}

function ApprovalCard({
  approval: a,
  canVote,
  testId = 'approval',
}: {
  approval: Approval;
  canVote: boolean;
  testId?: string;
}) {
  const run = useQuery({
    queryKey: ['run', a.run_id],
    queryFn: () => api<{ run: Run }>(`/api/v1/runs/${encodeURIComponent(a.run_id ?? '')}`),
    // A DAG action's request (an Airflow unpause) has no run and no params.
    enabled: a.run_id !== null,
  });
  const dag = useQuery({
    queryKey: ['dag', a.env, a.dag_id],
    queryFn: () => api<Dag>(`/api/v1/dags/${encodeURIComponent(a.dag_id)}${qs({ env: a.env })}`),
  });
  const approvals = a.votes.filter((v) => v.vote === 'approve').length;
  return (
    <Card
      id={a.id}
      data-testid={testId}
      data-approval={a.id}
      data-action={a.action ?? 'run'}
      data-dag={`${a.env}/${a.dag_id}`}
    >
      <Flex direction="column" gap="2">
        <Flex gap="2" align="center" wrap="wrap">
          <Text weight="bold" size="3">
            {a.action ? `${a.action} ` : ''}
            {a.dag_id}
          </Text>
          {a.kind === 'review' ? <Badge color="red">break-glass review</Badge> : null}
          <Badge variant="outline">{a.env}</Badge>
          <Badge color={a.state === 'pending' ? 'amber' : 'gray'}>{a.state}</Badge>
          <Text size="2">
            {approvals} of {a.quorum} approvals
          </Text>
          <Box />
          <Link to="/approvals/$approvalId" params={{ approvalId: a.id }} data-testid="open-request">
            open the request
          </Link>
          {a.run_id ? (
            <Link to="/runs/$runId" params={{ runId: a.run_id }}>
              open the run
            </Link>
          ) : (
            <Link to="/dags/$env/$dagId" params={{ env: a.env, dagId: a.dag_id }}>
              open the DAG
            </Link>
          )}
        </Flex>
        <Text size="2">
          asked by <Text weight="bold">{a.requested_by}</Text> <When ms={a.created_at} />
          {a.expires_at ? (
            <>
              {' '}
              · expires <When ms={a.expires_at} />
            </>
          ) : null}
        </Text>
        {a.reason ? <Text size="2">Why approval is needed: {a.reason}</Text> : null}
        {a.action ? (
          <Text size="2" data-testid="dag-action">
            Approving {a.action === 'unpause' ? 'unpauses' : a.action} this Airflow DAG: its schedule starts
            running in {a.env}.
          </Text>
        ) : run.data && dag.data ? (
          <ParamsDiff params={run.data.run.params} schema={dag.data.paramsSchema} />
        ) : run.error ? (
          <ErrorCallout error={run.error} />
        ) : (
          <Spinner />
        )}
        <Text size="1" color="gray">
          params hash <Code data-testid="params-hash">{a.params_hash}</Code> · DAG version{' '}
          <Code>{a.dag_version}</Code>
        </Text>
        {a.votes.length ? (
          <Flex direction="column" gap="1">
            {a.votes.map((v) => (
              <Text key={`${v.voter}-${v.created_at}`} size="2">
                {v.voter} voted <Text weight="bold">{v.vote}</Text> <When ms={v.created_at} />
                {v.comment ? `: “${v.comment}”` : ''}
              </Text>
            ))}
          </Flex>
        ) : (
          <Text size="2" color="gray">
            no votes yet
          </Text>
        )}
        {canVote && a.state === 'pending' ? <VoteForm approval={a} /> : null}
      </Flex>
    </Card>
  );
}

function Box() {
  return <span style={{ flexGrow: 1 }} />;
}
