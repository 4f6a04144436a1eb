/** Exports a time window of the trail as JSON Lines (verifiable offline) or CSV (for spreadsheets). @module */
import type { Writable } from 'node:stream';
import type { Db } from '../store/create-db.ts';
import type { AuditRow } from './audit-hash.ts';
import { rowToRecord } from './audit-row.ts';
import type { AuditCheckpoint, AuditRecord } from './audit-types.ts';
import { type AuditFilters, whereAudit, windowStart } from './query-audit.ts';

export type ExportFormat = 'jsonl' | 'csv';

export interface ExportOptions {
  readonly format: ExportFormat;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
  /**
   * JSON Lines only: signs the last exported record so `verifyExport` can check the file with the
   * public key alone. Called with the last record's seq and hash.
   */
  readonly checkpoint?:
    | ((at: { seq: number; hash: string }) => AuditCheckpoint | Promise<AuditCheckpoint>)
    | undefined;
  readonly pageSize?: number;
}

const CSV_COLUMNS = [
  'seq',
  'ts',
  'time',
  'action',
  'actor_kind',
  'actor_id',
  'actor_display_name',
  'actor_groups',
  'env',
  'dag_id',
  'dag_version',
  'run_id',
  'task_id',
  'approval_id',
  'source',
  'request_id',
  'params_hash',
  'decision_effect',
  'decision_policies',
  'decision_reasons',
  'outcome',
  'details',
  'prev_hash',
  'hash',
] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  // A leading =, +, - or @ would run as a formula in a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function csvLine(r: AuditRecord): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    seq: r.seq,
    ts: r.ts,
    time: new Date(r.ts).toISOString(),
    action: r.action,
    actor_kind: r.actor?.kind,
    actor_id: r.actor?.id,
    actor_display_name: r.actor?.displayName,
    actor_groups: r.actor?.groups?.join(' '),
    env: r.resource?.env,
    dag_id: r.resource?.dagId,
    dag_version: r.resource?.dagVersion,
    run_id: r.resource?.runId,
    task_id: r.resource?.taskId,
    approval_id: r.resource?.approvalId,
    source: r.source,
    request_id: r.requestId,
    params_hash: r.paramsHash,
    decision_effect: r.decision?.effect,
    decision_policies: r.decision?.policies.join(' '),
    decision_reasons: r.decision?.reasons.join('; '),
    outcome: r.outcome,
    details: r.details,
    prev_hash: r.prevHash,
    hash: r.hash,
  };
  return `${CSV_COLUMNS.map((c) => csvCell(cells[c])).join(',')}\n`;
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

/**
 * Streams the records with `since <= ts < until` to `out`, oldest first. Returns how many it wrote.
 *
 * @example
 * await exportAudit(db, createWriteStream('audit.jsonl'), { format: 'jsonl', since, until, checkpoint: (at) => signCheckpoint(key, { ...at, ts: Date.now() }) });
 */
export async function exportAudit(db: Db, out: Writable, options: ExportOptions): Promise<number> {
  const pageSize = options.pageSize ?? 5_000;
  const filters: AuditFilters = { since: options.since, until: options.until };
  if (options.format === 'csv') await write(out, `${CSV_COLUMNS.join(',')}\n`);
  let afterSeq = (await windowStart(db, filters)) ?? 0;
  let count = 0;
  let last: AuditRecord | undefined;
  for (;;) {
    const rows = (await whereAudit(db, db.kysely.selectFrom('audit_records').selectAll(), {
      ...filters,
      afterSeq,
    })
      .orderBy('seq')
      .limit(pageSize)
      .execute()) as AuditRow[];
    let chunk = '';
    for (const row of rows) {
      last = rowToRecord(row);
      chunk += options.format === 'csv' ? csvLine(last) : `${JSON.stringify(last)}\n`;
    }
    if (chunk) await write(out, chunk);
    count += rows.length;
    if (rows.length < pageSize) break;
    afterSeq = Number(rows.at(-1)!.seq);
  }
  if (options.format === 'jsonl' && options.checkpoint && last) {
    const cp = await options.checkpoint({ seq: last.seq, hash: last.hash });
    await write(out, `${JSON.stringify({ type: 'checkpoint', ...cp })}\n`);
  }
  return count;
}
