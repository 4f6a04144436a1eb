/** An API refusal or failure, shown with its stable code and its message (which says what to fix). */
import { Callout, Code, Flex, Text } from '@radix-ui/themes';
import { ApiError } from '../api.ts';

export function ErrorCallout({ error }: { error: unknown }) {
  const code = error instanceof ApiError ? error.code : 'ERROR';
  const message = error instanceof Error ? error.message : String(error);
  const reasons = error instanceof ApiError ? (error.details?.reasons as string[] | undefined) : undefined;
  return (
    <Callout.Root color="red" role="alert" data-testid="api-error">
      <Callout.Text>
        <Flex direction="column" gap="1" asChild>
          <span>
            <Code color="red" data-testid="api-error-code">
              {code}
            </Code>
            <Text>{message}</Text>
            {reasons?.length ? <Text size="1">reasons: {reasons.join('; ')}</Text> : null}
            {error instanceof ApiError && error.requestId ? (
              <Text size="1" color="gray">
                request id {error.requestId}
              </Text>
            ) : null}
          </span>
        </Flex>
      </Callout.Text>
    </Callout.Root>
  );
}
