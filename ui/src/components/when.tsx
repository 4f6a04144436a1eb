/** A time in the viewer's time zone, with the UTC time on hover. */
import { Tooltip } from '@radix-ui/themes';

const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function When({ ms }: { ms: number | null | undefined }) {
  if (ms === null || ms === undefined) return <span>—</span>;
  const d = new Date(ms);
  const utc = `${d.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  return (
    <Tooltip content={utc}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: keyboard users reach the UTC tooltip by focus */}
      <time dateTime={d.toISOString()} title={utc} tabIndex={0}>
        {local.format(d)}
      </time>
    </Tooltip>
  );
}
