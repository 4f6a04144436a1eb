/**
 * A Gantt chart of a run's attempts (recharts): one bar per try of each task, from its start to its
 * end (to now while it runs), coloured by state. The same attempts are listed in a table beneath,
 * for screen readers and for exact times.
 */
import { Table, Text } from '@radix-ui/themes';
import { memo } from 'react';
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { TaskInstance } from '../api.ts';
import { STATE_COLORS } from './state-badge.tsx';
import { When } from './when.tsx';

/** Fallbacks for the bars' fill; the CSS classes (Radix colour tokens) win in both themes. */
const FILL: Record<string, string> = {
  green: '#30a46c',
  red: '#e5484d',
  blue: '#0090ff',
  amber: '#ffc53d',
  orange: '#f76b15',
  gray: '#8b8d98',
};

interface GanttBar {
  label: string;
  task: string;
  attempt: number;
  state: string;
  range: [number, number];
  startedAt: number;
  finishedAt: number | null;
}

function bars(tasks: TaskInstance[], now: number): { rows: GanttBar[]; t0: number } {
  const all = tasks.flatMap((t) => (t.attempts ?? []).map((a) => ({ task: t.task_id, a })));
  const t0 = Math.min(...all.map((x) => x.a.startedAt));
  const rows = all
    .sort((x, y) => x.a.startedAt - y.a.startedAt || x.task.localeCompare(y.task))
    .map(({ task, a }) => ({
      label: `${task} #${a.attempt}`,
      task,
      attempt: a.attempt,
      state: a.state,
      range: [a.startedAt - t0, Math.max((a.finishedAt ?? now) - t0, a.startedAt - t0 + 1)] as [
        number,
        number,
      ],
      startedAt: a.startedAt,
      finishedAt: a.finishedAt,
    }));
  return { rows, t0 };
}

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`);

/**
 * Memoised on the tasks, and fed a deferred copy by the run page: a task's new state shows at once,
 * and the chart redraws after, at a lower priority.
 */
export const AttemptsGantt = memo(function AttemptsGantt({ tasks }: { tasks: TaskInstance[] }) {
  const { rows } = bars(tasks, Date.now());
  if (rows.length === 0)
    return (
      <Text size="2" color="gray">
        No attempt has started yet: bars appear as tasks run.
      </Text>
    );
  return (
    <div data-testid="gantt">
      <div className="gantt-chart" role="img" aria-label={`Gantt chart of ${rows.length} attempts`}>
        <ResponsiveContainer width="100%" height={40 + rows.length * 28}>
          <BarChart data={rows} layout="vertical" margin={{ top: 4, right: 16, bottom: 4, left: 8 }}>
            <CartesianGrid horizontal={false} strokeDasharray="3 3" />
            <XAxis type="number" domain={[0, 'dataMax']} tickFormatter={seconds} />
            <YAxis type="category" dataKey="label" width={140} />
            <Tooltip
              formatter={(_v, _n, item) => {
                const b = (item as { payload: GanttBar }).payload;
                return [`${b.state}, ${seconds(b.range[1] - b.range[0])}`, b.label];
              }}
              labelFormatter={() => ''}
            />
            <Bar dataKey="range" isAnimationActive={false}>
              {rows.map((b) => {
                const color = STATE_COLORS[b.state] ?? 'gray';
                return <Cell key={b.label} fill={FILL[color]} className={`gantt-bar gantt-${color}`} />;
              })}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <Table.Root size="1" variant="ghost" aria-label="Attempts">
        <Table.Header>
          <Table.Row>
            <Table.ColumnHeaderCell>Task</Table.ColumnHeaderCell>
            <Table.ColumnHeaderCell>Try</Table.ColumnHeaderCell>
            <Table.ColumnHeaderCell>State</Table.ColumnHeaderCell>
            <Table.ColumnHeaderCell>Started</Table.ColumnHeaderCell>
            <Table.ColumnHeaderCell>Finished</Table.ColumnHeaderCell>
            <Table.ColumnHeaderCell>Took</Table.ColumnHeaderCell>
          </Table.Row>
        </Table.Header>
        <Table.Body>
          {rows.map((b) => (
            <Table.Row
              key={b.label}
              data-testid="attempt"
              data-attempt-task={b.task}
              data-attempt={b.attempt}
              data-attempt-state={b.state}
            >
              <Table.RowHeaderCell>{b.task}</Table.RowHeaderCell>
              <Table.Cell>{b.attempt}</Table.Cell>
              <Table.Cell>{b.state.replaceAll('_', ' ')}</Table.Cell>
              <Table.Cell>
                <When ms={b.startedAt} plain />
              </Table.Cell>
              <Table.Cell>
                <When ms={b.finishedAt} plain />
              </Table.Cell>
              <Table.Cell>
                {seconds(b.range[1] - b.range[0])}
                {b.finishedAt === null ? ' so far' : ''}
              </Table.Cell>
            </Table.Row>
          ))}
        </Table.Body>
      </Table.Root>
    </div>
  );
});
