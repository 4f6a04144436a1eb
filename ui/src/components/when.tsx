/** A time in the viewer's time zone, with the UTC time on hover. */
import { Tooltip } from '@radix-ui/themes';

const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** `plain`: the UTC time in a native title only, for long lists where a tooltip per cell costs too much. */
export function When({ ms, plain }: { ms: number | null | undefined; plain?: boolean }) {
  if (ms === null || ms === undefined) return <span>—</span>;
  const d = new Date(ms);
  const utc = `${d.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  if (plain)
    return (
      <time dateTime={d.toISOString()} title={utc}>
        {local.format(d)}
      </time>
    );
  return (
    <Tooltip content={utc}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: keyboard users reach the UTC tooltip by focus */}
      <time dateTime={d.toISOString()} title={utc} tabIndex={0}>
        {local.format(d)}
      </time>
    </Tooltip>
  );
}
