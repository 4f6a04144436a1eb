/**
 * What the signed-in person may do with a DAG now: "run", "needs approval" or "no". The reason
 * (the determining policies, from explain) is fetched when the badge is hovered or focused.
 */
import { Badge, Text, Tooltip } from '@radix-ui/themes';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { type Access, approvalsText, explain } from '../api.ts';

export const ACCESS_LABEL: Record<Access, string> = { allow: 'run', approval: 'needs approval', deny: 'no' };
const COLOR = { allow: 'green', approval: 'amber', deny: 'red' } as const;

export function useAccessReason(env: string, dagId: string, access: Access, enabled: boolean) {
  return useQuery({
    queryKey: ['explain', env, dagId, 'trigger', {}],
    queryFn: () => explain({ action: 'trigger', dagId, env }),
    enabled,
    staleTime: 30_000,
    select: (x) => {
      const reasons = x.reasons.length ? x.reasons : x.policies;
      if (access === 'allow') return `allowed: ${reasons.join('; ') || 'a permit policy matches'}`;
      const why = reasons.length ? reasons.join('; ') : 'no policy permits it (deny by default)';
      return access === 'approval'
        ? `needs ${x.outcome === 'approval' ? approvalsText(x.quorum, x.approvers) : 'approval'}: ${why}`
        : `refused: ${why}`;
    },
  });
}

export function AccessBadge({ env, dagId, access }: { env: string; dagId: string; access: Access }) {
  // The tooltip mounts on first hover or focus: a list of 1,000 DAGs should not pay for 1,000 of them.
  const [armed, setArmed] = useState<'no' | 'pointer' | 'focus'>('no');
  const [open, setOpen] = useState(false);
  const reason = useAccessReason(env, dagId, access, open);
  const badge = (
    <Badge
      color={COLOR[access]}
      variant="surface"
      highContrast
      tabIndex={0}
      data-testid="access"
      data-access={access}
      aria-label={`your access: ${ACCESS_LABEL[access]}${reason.data ? ` (${reason.data})` : ''}`}
      ref={(el: HTMLSpanElement | null) => {
        // Mounting the tooltip replaces the element: keep the keyboard focus where it was.
        if (el && armed === 'focus' && document.activeElement !== el) el.focus();
      }}
      {...(armed === 'no'
        ? {
            onPointerEnter: () => {
              setArmed('pointer');
              setOpen(true);
            },
            onFocus: () => {
              setArmed('focus');
              setOpen(true);
            },
          }
        : {})}
    >
      {ACCESS_LABEL[access]}
    </Badge>
  );
  if (armed === 'no') return badge;
  return (
    <Tooltip
      open={open}
      onOpenChange={setOpen}
      content={
        <Text size="1">{reason.data ?? (reason.error ? reason.error.message : 'asking the policies…')}</Text>
      }
    >
      {badge}
    </Tooltip>
  );
}
