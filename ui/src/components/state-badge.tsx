/** A run or task state as a coloured badge (colour plus the word, never colour alone). */
import { Badge } from '@radix-ui/themes';

type Color = 'green' | 'red' | 'blue' | 'amber' | 'gray' | 'orange';

export const STATE_COLORS: Record<string, Color> = {
  success: 'green',
  failed: 'red',
  upstream_failed: 'orange',
  running: 'blue',
  queued: 'gray',
  scheduled: 'gray',
  pending: 'gray',
  up_for_retry: 'amber',
  awaiting_approval: 'amber',
  rejected: 'red',
  expired: 'gray',
  cancelled: 'gray',
  skipped: 'gray',
};

export function StateBadge({ state }: { state: string }) {
  return (
    <Badge color={STATE_COLORS[state] ?? 'gray'} variant="soft" highContrast data-state={state}>
      {state.replaceAll('_', ' ')}
    </Badge>
  );
}
