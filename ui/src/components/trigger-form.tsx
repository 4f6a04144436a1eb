/**
 * The trigger form, generated from the DAG's params JSON Schema (react-jsonschema-form) with inline
 * validation and sensitive fields masked. Above the button, a what-if line from explain says what
 * submitting would do with these params, updated as they change.
 */
import { Button, Callout, Flex, Text, TextArea } from '@radix-ui/themes';
import Form from '@rjsf/core';
import type { RJSFSchema, UiSchema } from '@rjsf/utils';
import { useQuery } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useDeferredValue, useEffect, useMemo, useState } from 'react';
import { type Approval, api, approvalsText, type Dag, explain, type Run } from '../api.ts';
import { BreakGlass } from './break-glass.tsx';
import { ErrorCallout } from './error-callout.tsx';
import { jsonSchemaValidator as validator } from './json-schema-validator.ts';

export function TriggerForm({ dag }: { dag: Dag }) {
  const navigate = useNavigate();
  const [params, setParams] = useState<Record<string, unknown>>({});
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const schema = useMemo(() => stripForForm(dag.paramsSchema) as RJSFSchema, [dag.paramsSchema]);
  const uiSchema = useMemo(() => sensitiveAsPassword(dag.paramsSchema), [dag.paramsSchema]);
  const problems = useMemo(
    () =>
      validator
        .validateFormData(params, schema)
        .errors.map((x) => `${x.property ?? ''} ${x.message ?? ''}`.trim()),
    [params, schema],
  );
  const valid = problems.length === 0;
  const deferred = useDeferredValue(params);
  const whatIf = useWhatIf(dag, deferred, problems);
  const refused = dag.trigger === 'deny';

  async function submit(values: Record<string, unknown>) {
    setBusy(true);
    setError(undefined);
    try {
      const res = await api<{ run: Run; approval?: Approval }>(
        `/api/v1/dags/${encodeURIComponent(dag.dagId)}/runs`,
        {
          method: 'POST',
          body: { env: dag.env, params: values, ...(note.trim() ? { note: note.trim() } : {}) },
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
    <Flex direction="column" gap="3" data-testid="trigger-form">
      <Form
        schema={schema}
        uiSchema={uiSchema}
        validator={validator}
        formData={params}
        liveValidate
        showErrorList={false}
        onChange={(e) => {
          setParams((e.formData ?? {}) as Record<string, unknown>);
        }}
        onSubmit={(e) => void submit((e.formData ?? {}) as Record<string, unknown>)}
      >
        <Flex direction="column" gap="3" mt="3">
          <label className="field">
            <Text size="2" weight="bold">
              Note (why; kept on the run and in the audit trail)
            </Text>
            <TextArea value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} />
          </label>
          <WhatIfLine refused={refused} state={whatIf} />
          <Flex gap="3" align="center">
            <Button type="submit" disabled={refused || busy || !valid} data-testid="trigger-button">
              {dag.trigger === 'approval' ? 'Ask for approval' : 'Trigger'}
            </Button>
            {refused && (
              <Text size="2" color="red">
                You may not trigger this DAG: see why above.
              </Text>
            )}
          </Flex>
        </Flex>
      </Form>
      {error ? <ErrorCallout error={error} /> : null}
      <BreakGlass dag={dag} params={deferred} valid={valid} note={note} />
    </Flex>
  );
}

type WhatIf =
  | { kind: 'pending' }
  | { kind: 'start' | 'approval' | 'refused'; text: string }
  | { kind: 'error'; text: string };

function useWhatIf(dag: Dag, params: Record<string, unknown>, problems: string[]): WhatIf {
  const valid = problems.length === 0;
  const q = useQuery({
    queryKey: ['what-if', dag.env, dag.dagId, params],
    enabled: valid,
    placeholderData: (prev) => prev,
    queryFn: async (): Promise<WhatIf> => {
      // One question: explain answers a trigger with its outcome (allow, approval, deny), the quorum
      // and who policy lets approve.
      const now = await explain({ action: 'trigger', dagId: dag.dagId, env: dag.env, params });
      const why = now.reasons.length ? now.reasons.join('; ') : 'no policy permits triggering it directly';
      const outcome = now.outcome ?? (now.effect === 'allow' ? 'allow' : 'deny');
      if (outcome === 'allow') return { kind: 'start', text: 'this will start now' };
      if (outcome === 'approval')
        return {
          kind: 'approval',
          text: `this needs ${approvalsText(now.quorum, now.approvers)}: ${why}`,
        };
      return {
        kind: 'refused',
        text: `refused: ${why}${now.wouldAllow.length ? `. Would allow: ${now.wouldAllow.join('; ')}` : ''}`,
      };
    },
  });
  if (!valid)
    return {
      kind: 'error',
      text: `fix the fields marked above to see what would happen: ${problems.join('; ')}`,
    };
  if (q.error)
    return { kind: 'error', text: `${(q.error as { code?: string }).code ?? 'ERROR'}: ${q.error.message}` };
  return q.data ?? { kind: 'pending' };
}

function WhatIfLine({ state, refused }: { state: WhatIf; refused: boolean }) {
  const [shown, setShown] = useState(state);
  useEffect(() => setShown(state), [state]);
  const color =
    shown.kind === 'start'
      ? 'green'
      : shown.kind === 'approval'
        ? 'amber'
        : shown.kind === 'pending'
          ? 'gray'
          : 'red';
  return (
    <Callout.Root color={color} data-testid="what-if" data-kind={shown.kind} aria-live="polite">
      <Callout.Text>
        {shown.kind === 'pending' ? 'asking the policies what this would do…' : shown.text}
        {refused && shown.kind === 'pending' ? ' (you may not trigger this DAG)' : ''}
      </Callout.Text>
    </Callout.Root>
  );
}

/** Leaves out the keywords rjsf does not need ($schema of another draft confuses its validator). */
function stripForForm(schema: Dag['paramsSchema']): Record<string, unknown> {
  const { $schema: _drop, ...rest } = schema as Record<string, unknown>;
  return rest;
}

function sensitiveAsPassword(schema: Dag['paramsSchema']): UiSchema {
  const ui: UiSchema = { 'ui:submitButtonOptions': { norender: true } };
  for (const [k, p] of Object.entries(schema.properties ?? {})) {
    if (p.sensitive === true) ui[k] = { 'ui:widget': 'password', 'ui:autocomplete': 'off' };
  }
  return ui;
}
