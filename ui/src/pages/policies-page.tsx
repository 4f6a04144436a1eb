/** Explain any decision: for a DAG, an action and params, as yourself or (with readAudit) as someone else. */
import {
  Badge,
  Button,
  Callout,
  Card,
  Code,
  Flex,
  Heading,
  Select,
  Text,
  TextArea,
  TextField,
} from '@radix-ui/themes';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, approvalsText, type Dag, type Explanation, qs } from '../api.ts';
import { ErrorCallout } from '../components/error-callout.tsx';
import { When } from '../components/when.tsx';

const ACTIONS = ['trigger', 'requestTrigger', 'view', 'cancel', 'readLogs', 'breakGlass'];

export function PoliciesPage() {
  const dags = useQuery({ queryKey: ['dags'], queryFn: () => api<{ dags: Dag[] }>('/api/v1/dags') });
  const [dag, setDag] = useState('');
  const [action, setAction] = useState('trigger');
  const [params, setParams] = useState('{}');
  const [asId, setAsId] = useState('');
  const [asGroups, setAsGroups] = useState('');
  const [result, setResult] = useState<Explanation>();
  const [error, setError] = useState<unknown>();
  const run = async () => {
    setError(undefined);
    setResult(undefined);
    try {
      const [env, dagId] = dag.split('/');
      const body = {
        action,
        env,
        dagId,
        params: JSON.parse(params || '{}'),
        ...(asId.trim()
          ? {
              as: {
                id: asId.trim(),
                groups: asGroups
                  .split(',')
                  .map((g) => g.trim())
                  .filter(Boolean),
              },
            }
          : {}),
      };
      setResult(await api<Explanation>('/api/v1/authorize/explain', { method: 'POST', body }));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Flex direction="column" gap="4">
      <Heading as="h2" size="6">
        Policies
      </Heading>
      <Text color="gray">
        Ask the loaded Cedar policies what they decide, and why. Asking as someone else needs the readAudit
        action on the environment.
      </Text>
      <Card>
        <Flex direction="column" gap="3">
          <label className="field">
            <Text size="2" weight="bold">
              DAG
            </Text>
            <Select.Root value={dag} onValueChange={setDag}>
              <Select.Trigger aria-label="DAG" placeholder="pick a DAG" />
              <Select.Content>
                {(dags.data?.dags ?? []).map((d) => (
                  <Select.Item key={`${d.env}/${d.dagId}`} value={`${d.env}/${d.dagId}`}>
                    {d.env}/{d.dagId}
                  </Select.Item>
                ))}
              </Select.Content>
            </Select.Root>
          </label>
          <label className="field">
            <Text size="2" weight="bold">
              Action
            </Text>
            <Select.Root value={action} onValueChange={setAction}>
              <Select.Trigger aria-label="Action" />
              <Select.Content>
                {ACTIONS.map((a) => (
                  <Select.Item key={a} value={a}>
                    {a}
                  </Select.Item>
                ))}
              </Select.Content>
            </Select.Root>
          </label>
          <label className="field">
            <Text size="2" weight="bold">
              Params (JSON)
            </Text>
            <TextArea value={params} onChange={(e) => setParams(e.target.value)} />
          </label>
          <Flex gap="3" wrap="wrap">
            <label className="field">
              <Text size="2" weight="bold">
                As principal (optional)
              </Text>
              <TextField.Root
                value={asId}
                onChange={(e) => setAsId(e.target.value)}
                placeholder="someone@example.com"
              />
            </label>
            <label className="field">
              <Text size="2" weight="bold">
                Their groups (comma separated)
              </Text>
              <TextField.Root value={asGroups} onChange={(e) => setAsGroups(e.target.value)} />
            </label>
          </Flex>
          <Button onClick={() => void run()} disabled={!dag}>
            Explain
          </Button>
        </Flex>
      </Card>
      {error ? <ErrorCallout error={error} /> : null}
      {result ? (
        <Card data-testid="explanation">
          <Flex direction="column" gap="2">
            <Text>
              Decision:{' '}
              <Badge color={result.effect === 'allow' ? 'green' : 'red'} highContrast>
                {result.effect}
              </Badge>
            </Text>
            {result.outcome === 'approval' ? (
              <Text size="2" data-testid="explain-outcome">
                Needs {approvalsText(result.quorum, result.approvers)} (never the requester)
              </Text>
            ) : null}
            {result.reasons.length ? <Text size="2">Reasons: {result.reasons.join('; ')}</Text> : null}
            {result.wouldAllow.length ? (
              <Text size="2">Would allow: {result.wouldAllow.join('; ')}</Text>
            ) : null}
            {result.errors.length ? (
              <Text size="2" color="red">
                Errors: {result.errors.join('; ')}
              </Text>
            ) : null}
            {result.determining.map((p) => (
              <Flex key={p.id} direction="column">
                <Text size="2">
                  <Badge color={p.effect === 'permit' ? 'green' : 'red'} highContrast>
                    {p.effect}
                  </Badge>{' '}
                  <Code>{p.id}</Code>
                </Text>
                <pre className="json">{p.text}</pre>
              </Flex>
            ))}
          </Flex>
        </Card>
      ) : null}
      <LoadedPolicies envs={[...new Set((dags.data?.dags ?? []).map((d) => d.env))].sort()} />
    </Flex>
  );
}

interface PolicyList {
  env: string;
  generation: number;
  loadedAt: number | null;
  policies: {
    id: string;
    effect: 'permit' | 'forbid';
    text: string;
    annotations: Record<string, string>;
    dagId: string | null;
  }[];
  problems: { file: string; line: number; column: number; message: string; help: string | null }[];
}

/** The policies loaded for an environment, each with its source, and why the last load failed (audit readers). */
function LoadedPolicies({ envs }: { envs: string[] }) {
  const [env, setEnv] = useState('');
  const shown = env || envs[0] || '';
  const list = useQuery({
    queryKey: ['policies', shown],
    queryFn: () => api<PolicyList>(`/api/v1/policies${qs({ env: shown })}`),
    enabled: shown !== '',
    retry: false,
  });
  return (
    <Flex direction="column" gap="3" data-testid="loaded-policies">
      <Flex gap="3" align="center" wrap="wrap">
        <Heading as="h3" size="4">
          Loaded policies
        </Heading>
        <Select.Root value={shown} onValueChange={setEnv}>
          <Select.Trigger aria-label="Environment of the policies" />
          <Select.Content>
            {envs.map((e) => (
              <Select.Item key={e} value={e}>
                {e}
              </Select.Item>
            ))}
          </Select.Content>
        </Select.Root>
      </Flex>
      {list.error ? (
        <ErrorCallout error={list.error} />
      ) : list.data ? (
        <>
          <Text size="2" color="gray">
            generation {list.data.generation}
            {list.data.loadedAt ? (
              <>
                , loaded <When ms={list.data.loadedAt} />
              </>
            ) : null}
          </Text>
          {list.data.problems.length ? (
            <Callout.Root color="red" data-testid="policy-problems">
              <Callout.Text>
                The last load failed ({list.data.problems.length} problem
                {list.data.problems.length === 1 ? '' : 's'}); the set below stays active until they are
                fixed.
              </Callout.Text>
              <ul className="plain-list">
                {list.data.problems.map((p) => (
                  <li key={`${p.file}:${p.line}:${p.column}:${p.message}`}>
                    <Text size="2">
                      <code>
                        {p.file}:{p.line}:{p.column}
                      </code>{' '}
                      {p.message}
                      {p.help ? ` (${p.help})` : ''}
                    </Text>
                  </li>
                ))}
              </ul>
            </Callout.Root>
          ) : null}
          {list.data.policies.map((p) => (
            <Card key={p.id} data-testid="loaded-policy" data-policy={p.id}>
              <Text size="2">
                <Badge color={p.effect === 'permit' ? 'green' : 'red'} highContrast>
                  {p.effect}
                </Badge>{' '}
                <Code>{p.id}</Code>
                {p.dagId ? ` (DAG ${p.dagId} only)` : ''} {p.annotations.reason ?? ''}
              </Text>
              <pre className="json">{p.text}</pre>
            </Card>
          ))}
        </>
      ) : null}
    </Flex>
  );
}
