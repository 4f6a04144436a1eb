/**
 * Pause or unpause an Airflow-bridged DAG (its Airflow schedule), through the API's pause and
 * unpause actions. Like the trigger form, a what-if line from explain says beforehand what the
 * button would do: now, only after approval (unpausing may need it), or not at all and why. The
 * reason is kept in the audit trail and shown to approvers; an unpause that needs approval opens
 * its request's page. Refusals are the API's, shown with their code.
 */
import { Badge, Button, Callout, Flex, Text, TextArea } from '@radix-ui/themes';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { type Access, type Approval, api, approvalsText, type Dag, explain } from '../api.ts';
import { ErrorCallout } from './error-callout.tsx';

type PauseAnswer =
  | { outcome: 'done'; env: string; dagId: string; paused: boolean }
  | { outcome: 'awaiting_approval'; env: string; dagId: string; paused: boolean; approval: Approval };

const REASON_MAX = 2_000;

export function AirflowSchedule({ dag }: { dag: Dag }) {
  const paused = dag.paused === true;
  const verb = paused ? 'unpause' : 'pause';
  const whatIf = useQuery({
    queryKey: ['explain', dag.env, dag.dagId, verb, {}],
    queryFn: async () => {
      const e = await explain({ action: verb, dagId: dag.dagId, env: dag.env });
      const outcome: Access = e.outcome ?? (e.effect === 'allow' ? 'allow' : 'deny');
      let why = e.reasons.length ? e.reasons.join('; ') : `no policy permits you to ${verb} it directly`;
      if (outcome === 'approval') {
        // Why it may be asked for: the policy that permits the request.
        const asking = await explain({ action: 'requestUnpause', dagId: dag.dagId, env: dag.env });
        if (asking.reasons.length) why = asking.reasons.join('; ');
      }
      const text =
        outcome === 'allow'
          ? `this will ${verb} it now`
          : outcome === 'approval'
            ? `this needs ${approvalsText(e.quorum, e.approvers)} before it is unpaused: ${why}`
            : `refused: ${why}${e.wouldAllow.length ? `. Would allow: ${e.wouldAllow.join('; ')}` : ''}`;
      return { outcome, text };
    },
  });
  const client = useQueryClient();
  const navigate = useNavigate();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const [busy, setBusy] = useState(false);
  const outcome = whatIf.data?.outcome;

  async function go() {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const res = await api<PauseAnswer>(`/api/v1/dags/${encodeURIComponent(dag.dagId)}/${verb}`, {
        method: 'POST',
        body: { env: dag.env, ...(reason.trim() ? { reason: reason.trim() } : {}) },
      });
      if (res.outcome === 'awaiting_approval') {
        await navigate({ to: '/approvals/$approvalId', params: { approvalId: res.approval.id } });
        return;
      }
      setReason('');
      setDone(`${res.paused ? 'Paused' : 'Unpaused'} in Airflow.`);
      await client.invalidateQueries({ queryKey: ['dag', dag.env, dag.dagId] });
      await client.invalidateQueries({ queryKey: ['dags'] });
      await client.invalidateQueries({ queryKey: ['explain', dag.env, dag.dagId] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const color = outcome === 'allow' ? 'green' : outcome === 'approval' ? 'amber' : outcome ? 'red' : 'gray';
  return (
    <Flex
      direction="column"
      gap="3"
      id="airflow-schedule"
      data-testid="airflow-schedule"
      data-paused={paused}
    >
      <Text size="2">
        {paused ? (
          <>
            <Badge color="amber" variant="soft" highContrast>
              paused
            </Badge>{' '}
            Airflow does not run its schedule
            {dag.schedule ? (
              <>
                {' '}
                (<code>{dag.schedule}</code>)
              </>
            ) : null}
            . Triggered runs still start.
          </>
        ) : (
          <>
            <Badge color="green" variant="soft" highContrast>
              active
            </Badge>{' '}
            Airflow runs its schedule
            {dag.schedule ? (
              <>
                {' '}
                (<code>{dag.schedule}</code>)
              </>
            ) : null}
            .
          </>
        )}
      </Text>
      <Flex direction="column" gap="3" asChild>
        <form
          aria-label={`${verb} in Airflow`}
          onSubmit={(e) => {
            e.preventDefault();
            void go();
          }}
        >
          <label className="field">
            <Text size="2" weight="bold">
              Reason (kept in the audit trail{paused ? ', and shown to approvers' : ''})
            </Text>
            <TextArea
              value={reason}
              maxLength={REASON_MAX}
              onChange={(e) => setReason(e.target.value)}
              data-testid="pause-reason"
            />
          </label>
          <Callout.Root
            color={color}
            data-testid="pause-what-if"
            data-kind={outcome ?? 'pending'}
            aria-live="polite"
          >
            <Callout.Text>
              {whatIf.error
                ? `${(whatIf.error as { code?: string }).code ?? 'ERROR'}: ${whatIf.error.message}`
                : (whatIf.data?.text ?? 'asking the policies what this would do…')}
            </Callout.Text>
          </Callout.Root>
          <Flex gap="3" align="center">
            <Button
              type="submit"
              color={paused ? undefined : 'amber'}
              disabled={busy || outcome === 'deny' || !outcome}
              data-testid="pause-button"
            >
              {paused ? (outcome === 'approval' ? 'Ask to unpause' : 'Unpause') : 'Pause'}
            </Button>
            {outcome === 'deny' ? (
              <Text size="2" color="red">
                You may not {verb} this DAG: see why above.
              </Text>
            ) : null}
            {done ? (
              <Text size="2" color="green" role="status" data-testid="pause-done">
                {done}
              </Text>
            ) : null}
          </Flex>
        </form>
      </Flex>
      {error ? <ErrorCallout error={error} /> : null}
    </Flex>
  );
}
