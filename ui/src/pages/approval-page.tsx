/**
 * One approval request, at the link Slack messages and the CLI print (`/approvals/<id>`): what it
 * would do (the exact params diffed against the DAG's defaults, or the DAG action), the params hash
 * and DAG version a vote is bound to, who asked and why, why it needs approval (the policies), the
 * votes so far and the expiry. An eligible approver votes here; anyone else is told why they cannot,
 * with the code a vote would be refused with.
 */
import { Badge, Callout, Card, Code, Flex, Grid, Heading, Spinner, Text } from '@radix-ui/themes';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { type Approval, type ApprovalShown, api, type Dag, qs } from '../api.ts';
import { ErrorCallout } from '../components/error-callout.tsx';
import { ParamsDiff } from '../components/params-diff.tsx';
import { StateBadge } from '../components/state-badge.tsx';
import { VoteForm } from '../components/vote-form.tsx';
import { When } from '../components/when.tsx';
import { useLiveInvalidation } from '../use-live-events.ts';

export function ApprovalPage() {
  useLiveInvalidation();
  const { approvalId } = useParams({ from: '/approvals/$approvalId' });
  // Under ['approvals']: a vote or a live change refreshes it with the inbox.
  const shown = useQuery({
    queryKey: ['approvals', 'one', approvalId],
    queryFn: () => api<ApprovalShown>(`/api/v1/approvals/${encodeURIComponent(approvalId)}`),
  });
  if (shown.isPending) return <Spinner aria-label="Loading the approval request" />;
  if (shown.error)
    return (
      <Flex direction="column" gap="3">
        <Heading as="h2" size="6">
          Approval request
        </Heading>
        <ErrorCallout error={shown.error} />
      </Flex>
    );
  const { approval: a, run, policies, note, canVote } = shown.data;
  const approvals = a.votes.filter((v) => v.vote === 'approve').length;
  return (
    <Flex direction="column" gap="4" data-testid="approval-page" data-approval={a.id} data-state={a.state}>
      <Flex align="center" gap="3" wrap="wrap">
        <Heading as="h2" size="6">
          {a.kind === 'review' ? 'Break-glass review' : a.action ? `Request to ${a.action}` : 'Run request'}:{' '}
          {a.dag_id}
        </Heading>
        <Badge variant="outline">{a.env}</Badge>
        <Badge
          color={a.state === 'pending' ? 'amber' : a.state === 'approved' ? 'green' : 'gray'}
          highContrast
        >
          <span data-testid="approval-state">{a.state}</span>
        </Badge>
        <Text size="2" data-testid="tally">
          {approvals} of {a.quorum} approval{a.quorum === 1 ? '' : 's'}
        </Text>
      </Flex>
      <Grid columns={{ initial: '1', md: '2' }} gap="4">
        <Card>
          <Heading as="h3" size="3" mb="2">
            What it would do
          </Heading>
          <Flex direction="column" gap="2">
            <Text size="2">
              DAG{' '}
              <Link to="/dags/$env/$dagId" params={{ env: a.env, dagId: a.dag_id }}>
                {a.env}/{a.dag_id}
              </Link>
              {run ? (
                <>
                  {' '}
                  · run{' '}
                  <Link to="/runs/$runId" params={{ runId: run.id }}>
                    <Code>{run.id.slice(0, 12)}</Code>
                  </Link>{' '}
                  <StateBadge state={run.state} />
                </>
              ) : null}
            </Text>
            {run ? (
              <RunParams env={a.env} dagId={a.dag_id} params={run.params} />
            ) : (
              <Text size="2" data-testid="dag-action">
                {a.action === 'unpause'
                  ? `Unpause this Airflow DAG: its Airflow schedule starts running in ${a.env}, and its scheduled runs get the DAG's default params.`
                  : `${a.action ?? 'act on'} this DAG in ${a.env}.`}
              </Text>
            )}
            <Text size="1" color="gray">
              params hash <Code data-testid="params-hash">{a.params_hash}</Code> · DAG version{' '}
              <Code data-testid="dag-version">{a.dag_version}</Code>
            </Text>
            <Text size="1" color="gray">
              A vote here carries this hash and version: if the request changed since you loaded this page,
              the vote is refused.
            </Text>
          </Flex>
        </Card>
        <Card>
          <Heading as="h3" size="3" mb="2">
            Who asked, and why
          </Heading>
          <Flex direction="column" gap="2">
            <Text size="2">
              asked by <Text weight="bold">{a.requested_by}</Text> <When ms={a.created_at} />
            </Text>
            {note ? (
              <Text size="2" data-testid="request-note">
                Their reason: “{note}”
              </Text>
            ) : null}
            <Text size="2" data-testid="why-approval">
              {a.kind === 'review' ? 'Why it is reviewed: ' : 'Why approval is needed: '}
              {a.reason ?? 'policy requires it'}
            </Text>
            {policies.length ? (
              <Text size="2" data-testid="request-policies">
                policies:{' '}
                {policies.map((p, i) => (
                  <span key={p}>
                    {i ? ', ' : ''}
                    <Code>{p}</Code>
                  </span>
                ))}
              </Text>
            ) : null}
            <Text size="2">
              {a.expires_at ? (
                <>
                  {a.state === 'pending' ? 'expires' : 'was to expire'} <When ms={a.expires_at} />
                </>
              ) : (
                'never expires'
              )}
              {a.decided_at ? (
                <>
                  {' '}
                  · {a.state} <When ms={a.decided_at} />
                </>
              ) : null}
            </Text>
            <Delivery approval={a} />
          </Flex>
        </Card>
      </Grid>
      <Card>
        <Heading as="h3" size="3" mb="2">
          Votes
        </Heading>
        <Votes approval={a} />
      </Card>
      <Card>
        <Heading as="h3" size="3" mb="2">
          Your vote
        </Heading>
        {canVote.allowed && a.state === 'pending' ? (
          <VoteForm approval={a} />
        ) : (
          <Callout.Root color="gray" data-testid="cannot-vote" role="status">
            <Callout.Text>
              <Flex direction="column" gap="1" asChild>
                <span>
                  <Text weight="bold">You cannot vote on this request.</Text>
                  {canVote.code ? (
                    <Code color="gray" data-testid="cannot-vote-code">
                      {canVote.code}
                    </Code>
                  ) : null}
                  <Text>{canVote.message ?? `It is ${a.state}.`}</Text>
                </span>
              </Flex>
            </Callout.Text>
          </Callout.Root>
        )}
      </Card>
    </Flex>
  );
}

/** The run's params against the DAG's defaults; the raw params when the DAG cannot be read. */
function RunParams({ env, dagId, params }: { env: string; dagId: string; params: Record<string, unknown> }) {
  const dag = useQuery({
    queryKey: ['dag', env, dagId],
    queryFn: () => api<Dag>(`/api/v1/dags/${encodeURIComponent(dagId)}${qs({ env })}`),
  });
  if (dag.isPending) return <Spinner />;
  if (dag.error)
    return (
      <Flex direction="column" gap="1">
        <pre className="json" data-testid="params-raw">
          {JSON.stringify(params, null, 2)}
        </pre>
        <Text size="1" color="gray">
          (not diffed against the defaults: {dag.error.message})
        </Text>
      </Flex>
    );
  return <ParamsDiff params={params} schema={dag.data.paramsSchema} />;
}

function Votes({ approval: a }: { approval: Approval }) {
  if (a.votes.length === 0)
    return (
      <Text size="2" color="gray">
        No votes yet: {a.quorum} approval{a.quorum === 1 ? '' : 's'} from people policy lets approve will
        {a.run_id ? ' start the run' : ` ${a.action ?? 'act'}`}; one denial ends the request.
      </Text>
    );
  return (
    <Flex direction="column" gap="1" asChild>
      <ul className="plain-list" data-testid="votes">
        {a.votes.map((v) => (
          <li key={`${v.voter}-${v.created_at}`} data-voter={v.voter} data-vote={v.vote}>
            <Text size="2">
              {v.voter} voted <Text weight="bold">{v.vote}</Text> <When ms={v.created_at} />
              {v.comment ? `: “${v.comment}”` : ''}
            </Text>
          </li>
        ))}
      </ul>
    </Flex>
  );
}

/** How far an approved DAG action got: done, pending a retry, or failed with why. */
function Delivery({ approval: a }: { approval: Approval }) {
  const d = a.delivery;
  if (!d) return null;
  return (
    <Text size="2" data-testid="delivery" data-delivery={d.state}>
      {a.action}: {d.state}
      {d.state !== 'done' ? ` after ${d.attempts} tr${d.attempts === 1 ? 'y' : 'ies'}` : ''}
      {d.last_error ? ` (${d.last_error})` : ''}
    </Text>
  );
}
