/**
 * Approve or deny (or, for a break-glass run, mark reviewed) with a comment. The vote carries the
 * params hash and DAG version the voter was shown, so a request that changed since is refused by the
 * API (`APPROVAL_STALE`), and any refusal is shown with its code.
 */
import { Button, Flex, Text, TextArea } from '@radix-ui/themes';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type Approval, api } from '../api.ts';
import { ErrorCallout } from './error-callout.tsx';

export function VoteForm({ approval: a }: { approval: Approval }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const client = useQueryClient();
  const vote = async (kind: 'approve' | 'deny' | 'review') => {
    setBusy(true);
    setError(undefined);
    try {
      await api(`/api/v1/approvals/${encodeURIComponent(a.id)}/${kind}`, {
        method: 'POST',
        body: {
          ...(comment.trim() ? { comment: comment.trim() } : {}),
          paramsHash: a.params_hash,
          dagVersion: a.dag_version,
        },
      });
      await client.invalidateQueries({ queryKey: ['approvals'] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Flex direction="column" gap="2" data-testid="vote-form">
      <label className="field">
        <Text size="2" weight="bold">
          Comment
        </Text>
        <TextArea
          value={comment}
          onChange={(e) => setComment(e.target.value)}
          maxLength={2000}
          data-testid="vote-comment"
        />
      </label>
      <Flex gap="2">
        {a.kind === 'review' ? (
          <Button disabled={busy} onClick={() => void vote('review')} data-testid="mark-reviewed">
            Mark reviewed
          </Button>
        ) : (
          <>
            <Button color="green" disabled={busy} onClick={() => void vote('approve')} data-testid="approve">
              Approve
            </Button>
            <Button
              color="red"
              variant="soft"
              disabled={busy}
              onClick={() => void vote('deny')}
              data-testid="deny"
            >
              Deny
            </Button>
          </>
        )}
      </Flex>
      {error ? <ErrorCallout error={error} /> : null}
    </Flex>
  );
}
