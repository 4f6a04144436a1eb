/**
 * Break-glass: start a run now, without approval, when policy lets the person (Cedar `breakGlass`,
 * usually on-call). A separate, deliberate action: shown only when explain allows it, behind a
 * dialog that asks why and says it is audited and will be reviewed afterwards.
 */
import { Button, Callout, Dialog, Flex, Text, TextArea } from '@radix-ui/themes';
import { useQuery } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { type Approval, api, type Dag, explain, type Run } from '../api.ts';
import { ErrorCallout } from './error-callout.tsx';

/** The API's bounds for the reason (POST /dags/{id}/break-glass). */
const REASON_MIN = 1;
const REASON_MAX = 2_000;

export function BreakGlass({
  dag,
  params,
  valid,
  note,
}: {
  dag: Dag;
  params: Record<string, unknown>;
  valid: boolean;
  note: string;
}) {
  const allowed = useQuery({
    queryKey: ['explain', dag.env, dag.dagId, 'breakGlass', params],
    queryFn: () => explain({ action: 'breakGlass', dagId: dag.dagId, env: dag.env, params }),
    enabled: valid,
    placeholderData: (prev) => prev,
    select: (e) => e.effect === 'allow',
  });
  const navigate = useNavigate();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  if (!allowed.data) return null;
  const ready = reason.trim().length >= REASON_MIN && valid && !busy;

  async function go() {
    setBusy(true);
    setError(undefined);
    try {
      const res = await api<{ run: Run; review: Approval }>(
        `/api/v1/dags/${encodeURIComponent(dag.dagId)}/break-glass`,
        {
          method: 'POST',
          body: {
            env: dag.env,
            params,
            reason: reason.trim(),
            ...(note.trim() ? { note: note.trim() } : {}),
          },
        },
      );
      await navigate({ to: '/runs/$runId', params: { runId: res.run.id } });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Flex direction="column" gap="2" data-testid="break-glass">
      <Text size="2" color="gray">
        In an emergency, policy lets you start this DAG now without waiting for approval.
      </Text>
      <Dialog.Root>
        <Dialog.Trigger>
          <Button color="red" variant="outline" data-testid="break-glass-open" disabled={!valid}>
            Break glass…
          </Button>
        </Dialog.Trigger>
        <Dialog.Content maxWidth="32rem">
          <Dialog.Title>Break glass: start {dag.dagId} now</Dialog.Title>
          <Dialog.Description size="2">
            The run starts at once in {dag.env}, with the params in the form, without approval.
          </Dialog.Description>
          <Flex direction="column" gap="3" mt="3">
            <Callout.Root color="red">
              <Callout.Text>
                This is recorded in the audit trail under your name with your reason, and opens a review
                request: approvers must review the run afterwards.
              </Callout.Text>
            </Callout.Root>
            <label className="field">
              <Text size="2" weight="bold">
                Why can this not wait for approval? (required)
              </Text>
              <TextArea
                data-testid="break-glass-reason"
                value={reason}
                required
                minLength={REASON_MIN}
                maxLength={REASON_MAX}
                onChange={(e) => setReason(e.target.value)}
              />
            </label>
            {error ? <ErrorCallout error={error} /> : null}
            <Flex gap="3" justify="end">
              <Dialog.Close>
                <Button variant="soft" color="gray">
                  Keep waiting
                </Button>
              </Dialog.Close>
              <Button
                color="red"
                disabled={!ready}
                onClick={() => void go()}
                data-testid="break-glass-submit"
              >
                Start now, audited
              </Button>
            </Flex>
          </Flex>
        </Dialog.Content>
      </Dialog.Root>
    </Flex>
  );
}
