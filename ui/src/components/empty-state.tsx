/** What an empty list means, and what to do next. */
import { Card, Flex, Text } from '@radix-ui/themes';
import type { ReactNode } from 'react';

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Card>
      <Flex direction="column" gap="1" p="2">
        <Text weight="bold">{title}</Text>
        {children ? <Text color="gray">{children}</Text> : null}
      </Flex>
    </Card>
  );
}
