/** The exact params of a request, each marked when it differs from the DAG's default. */
import { Badge, Code, Table, Text } from '@radix-ui/themes';
import type { Dag } from '../api.ts';

export function ParamsDiff({
  params,
  schema,
}: {
  params: Record<string, unknown>;
  schema: Dag['paramsSchema'];
}) {
  const keys = [...new Set([...Object.keys(schema.properties ?? {}), ...Object.keys(params)])];
  return (
    <Table.Root size="1" variant="surface" data-testid="params">
      <Table.Header>
        <Table.Row>
          <Table.ColumnHeaderCell>param</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>value</Table.ColumnHeaderCell>
          <Table.ColumnHeaderCell>default</Table.ColumnHeaderCell>
        </Table.Row>
      </Table.Header>
      <Table.Body>
        {keys.map((k) => {
          const def = schema.properties?.[k]?.default;
          const has = k in params;
          const changed = has && JSON.stringify(params[k]) !== JSON.stringify(def);
          return (
            <Table.Row key={k} data-param={k} data-changed={changed}>
              <Table.RowHeaderCell>
                <Code>{k}</Code>
              </Table.RowHeaderCell>
              <Table.Cell>
                {has ? (
                  <Code color={changed ? 'amber' : 'gray'}>{JSON.stringify(params[k])}</Code>
                ) : (
                  <Text color="gray">unset</Text>
                )}
                {changed ? (
                  <Badge ml="2" color="amber">
                    changed
                  </Badge>
                ) : null}
              </Table.Cell>
              <Table.Cell>
                <Code color="gray">{def === undefined ? '—' : JSON.stringify(def)}</Code>
              </Table.Cell>
            </Table.Row>
          );
        })}
      </Table.Body>
    </Table.Root>
  );
}
