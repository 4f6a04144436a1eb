/** The audit trail: filtered, scrolled without end, each record's full JSON, the chain's verification, and export. */
import {
  Button,
  Card,
  Code,
  Dialog,
  Flex,
  Heading,
  Select,
  Spinner,
  Table,
  Text,
  TextField,
} from '@radix-ui/themes';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { type AuditRecord, api, qs } from '../api.ts';
import { EmptyState } from '../components/empty-state.tsx';
import { ErrorCallout } from '../components/error-callout.tsx';
import { When } from '../components/when.tsx';

interface Filters {
  actor: string;
  action: string;
  dag: string;
  env: string;
  effect: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { actor: '', action: '', dag: '', env: '', effect: '', since: '', until: '' };

interface VerifyResult {
  ok: boolean;
  records: number;
  lastSeq?: number;
  lastHash?: string;
  firstBadSeq?: number;
  reason?: string;
  checkpointsVerified?: number;
}

export function AuditPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const query = {
    ...filters,
    since: filters.since ? new Date(filters.since).toISOString() : '',
    until: filters.until ? new Date(filters.until).toISOString() : '',
  };
  const records = useInfiniteQuery({
    queryKey: ['audit', query],
    initialPageParam: 0,
    queryFn: ({ pageParam }) =>
      api<{ records: AuditRecord[]; nextAfter: number | null; notice?: string }>(
        `/api/v1/audit${qs({ ...query, after: pageParam || undefined, limit: 100 })}`,
      ),
    getNextPageParam: (last) => last.nextAfter ?? undefined,
  });
  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinel.current;
    if (!el) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && records.hasNextPage && !records.isFetchingNextPage)
        void records.fetchNextPage();
    });
    io.observe(el);
    return () => io.disconnect();
  }, [records]);
  const all = records.data?.pages.flatMap((p) => p.records) ?? [];
  const notice = records.data?.pages[0]?.notice;
  const field = (k: keyof Filters, label: string, type = 'text') => (
    <label className="field">
      <Text size="1" weight="bold">
        {label}
      </Text>
      <TextField.Root
        type={type as 'text'}
        value={draft[k]}
        onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}
      />
    </label>
  );
  return (
    <Flex direction="column" gap="4">
      <Heading as="h2" size="6">
        Audit trail
      </Heading>
      <ChainStatus />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <Flex gap="3" wrap="wrap" align="end" role="search">
          {field('actor', 'Actor')}
          {field('action', 'Action')}
          {field('dag', 'DAG')}
          {field('env', 'Environment')}
          <label className="field">
            <Text size="1" weight="bold">
              Outcome
            </Text>
            <Select.Root
              value={draft.effect || 'any'}
              onValueChange={(v) => setDraft({ ...draft, effect: v === 'any' ? '' : v })}
            >
              <Select.Trigger aria-label="Outcome" />
              <Select.Content>
                <Select.Item value="any">any</Select.Item>
                <Select.Item value="allow">allowed</Select.Item>
                <Select.Item value="needs_approval">needs approval</Select.Item>
                <Select.Item value="deny">denied</Select.Item>
              </Select.Content>
            </Select.Root>
          </label>
          {field('since', 'Since', 'datetime-local')}
          {field('until', 'Until', 'datetime-local')}
          <Button type="submit">Apply</Button>
          <Button asChild variant="soft">
            <a
              href={`/api/v1/audit/export${qs({ format: 'jsonl', since: query.since, until: query.until })}`}
              download
            >
              Export JSON Lines
            </a>
          </Button>
          <Button asChild variant="soft">
            <a
              href={`/api/v1/audit/export${qs({ format: 'csv', since: query.since, until: query.until })}`}
              download
            >
              Export CSV
            </a>
          </Button>
        </Flex>
      </form>
      <Text size="1" color="gray">
        Export covers the time range (the whole trail when no time is set), so it can be verified offline with
        `airclutch audit verify`.
      </Text>
      {records.isPending ? (
        <Spinner aria-label="Loading audit records" />
      ) : records.error ? (
        <ErrorCallout error={records.error} />
      ) : notice ? (
        <EmptyState title="No records you may read">{notice}</EmptyState>
      ) : all.length === 0 ? (
        <EmptyState title="No records match">Widen the time range or clear a filter.</EmptyState>
      ) : (
        <Table.Root size="1" variant="surface" data-testid="audit-table">
          <Table.Header>
            <Table.Row>
              <Table.ColumnHeaderCell>#</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>When</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Action</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Actor</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Resource</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Source</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Outcome</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Record</Table.ColumnHeaderCell>
            </Table.Row>
          </Table.Header>
          <Table.Body>
            {all.map((r) => (
              <Table.Row
                key={r.seq}
                data-testid="audit-row"
                data-action={r.action}
                data-outcome={r.outcome ?? ''}
              >
                <Table.Cell>{r.seq}</Table.Cell>
                <Table.Cell>
                  <When ms={r.ts} />
                </Table.Cell>
                <Table.Cell>
                  <Code>{r.action}</Code>
                </Table.Cell>
                <Table.Cell>{r.actor?.id ?? '—'}</Table.Cell>
                <Table.Cell>
                  {[r.resource?.env, r.resource?.dagId, r.resource?.runId?.slice(0, 8)]
                    .filter(Boolean)
                    .join(' / ') || '—'}
                </Table.Cell>
                <Table.Cell>{r.source ?? '—'}</Table.Cell>
                <Table.Cell>{r.outcome ?? '—'}</Table.Cell>
                <Table.Cell>
                  <Dialog.Root>
                    <Dialog.Trigger>
                      <Button size="1" variant="ghost">
                        JSON
                      </Button>
                    </Dialog.Trigger>
                    <Dialog.Content maxWidth="760px">
                      <Dialog.Title>Audit record {r.seq}</Dialog.Title>
                      <Dialog.Description size="2">
                        The record as stored and hashed in the chain.
                      </Dialog.Description>
                      <pre className="json">{JSON.stringify(r, null, 2)}</pre>
                      <Dialog.Close>
                        <Button variant="soft">Close</Button>
                      </Dialog.Close>
                    </Dialog.Content>
                  </Dialog.Root>
                </Table.Cell>
              </Table.Row>
            ))}
          </Table.Body>
        </Table.Root>
      )}
      <div ref={sentinel} aria-hidden="true" />
      {records.isFetchingNextPage ? <Spinner aria-label="Loading more records" /> : null}
    </Flex>
  );
}

function ChainStatus() {
  const verify = useQuery({
    queryKey: ['audit', 'verify'],
    queryFn: () => api<VerifyResult>('/api/v1/audit/verify'),
    retry: false,
  });
  if (verify.isPending) return <Spinner aria-label="Verifying the chain" />;
  if (verify.error) return <ErrorCallout error={verify.error} />;
  const v = verify.data;
  return (
    <Card data-testid="chain-status" data-ok={v.ok}>
      {v.ok ? (
        <Text as="p" size="2">
          <Text color="green" highContrast weight="bold">
            ✓ Chain verified:
          </Text>{' '}
          {v.records} records, last #{v.lastSeq} ({v.lastHash?.slice(0, 16)}); {v.checkpointsVerified ?? 0}{' '}
          signed checkpoints verified
        </Text>
      ) : (
        <Text as="p" size="2">
          <Text color="red" highContrast weight="bold">
            ✗ Chain broken
          </Text>{' '}
          at record #{v.firstBadSeq}: {v.reason}
        </Text>
      )}
    </Card>
  );
}
