/** Explain any decision: for a DAG, an action and params, as yourself or (with readAudit) as someone else. */
import {
  Badge,
  Button,
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
import { api, approvalsText, type Dag, type Explanation } from '../api.ts';
import { ErrorCallout } from '../components/error-callout.tsx';

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
    </Flex>
  );
}
