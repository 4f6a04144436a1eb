/** `airclutch audit verify|query|export|checkpoint|keygen`: argument parsing over the audit library. @module */
import { writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import {
  generateCheckpointKeys,
  loadCheckpointPrivateKey,
  loadCheckpointPublicKey,
  readPublicKeyFile,
} from '../../audit/audit-keys.ts';
import type { VerifyResult } from '../../audit/audit-types.ts';
import { createCheckpoint } from '../../audit/create-checkpoint.ts';
import type { ExportFormat } from '../../audit/export-audit.ts';
import { verifyChain } from '../../audit/verify-chain.ts';
import { verifyExport } from '../../audit/verify-export.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { parseTimeBound } from '../../lib/parse-time-bound.ts';
import { apiClient, type ClientFlags, clientOptions } from '../api-client.ts';
import { configFor, printTable, withStore } from '../cli-context.ts';
import { printJson } from '../json-view.ts';

interface AuditRecordView {
  seq: number;
  ts: number;
  action: string;
  actor?: { kind: string; id: string } | null;
  resource?: { env?: string; dagId?: string; runId?: string } | null;
  decision?: { effect?: string } | null;
  outcome?: string | null;
}

interface ExportFlags extends ClientFlags {
  format: ExportFormat;
  since?: string;
  until?: string;
  out?: string;
}

function report(result: VerifyResult, what: string, json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (!result.ok) {
    throw new AirclutchError(
      'AUDIT_CHAIN_BROKEN',
      `${what} fails at record ${result.firstBadSeq}: ${result.reason}`,
      {
        details: { firstBadSeq: result.firstBadSeq },
      },
    );
  }
  if (!json) {
    process.stdout.write(
      `${what} verified: ${result.records} record(s) up to ${result.lastSeq}, ${result.checkpointsVerified} signed checkpoint(s), head ${result.lastHash}\n`,
    );
  }
}

export function auditCommand(): Command {
  const audit = new Command('audit').description('Verify, query and export the tamper-evident audit trail');

  audit
    .command('verify')
    .description('Verify the stored hash chain, or an exported file offline with only the public key')
    .option('--file <file>', 'an exported JSON Lines file to verify instead of the store')
    .option('--public-key <pem>', 'Ed25519 public key (PEM) that signed the checkpoints')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { file?: string; publicKey?: string; json?: boolean }, cmd: Command) => {
      if (opts.file) {
        if (!opts.publicKey)
          throw new AirclutchError('REQUEST_INVALID', 'verifying a file needs --public-key <pem>');
        report(await verifyExport(opts.file, readPublicKeyFile(opts.publicKey)), opts.file, opts.json);
        return;
      }
      const config = await configFor(cmd);
      const publicKey = opts.publicKey ? readPublicKeyFile(opts.publicKey) : loadCheckpointPublicKey(config);
      await withStore(config, async (db) =>
        report(await verifyChain(db, { publicKey }), 'audit chain', opts.json),
      );
    });

  const query = audit
    .command('query')
    .description('List audit records, oldest first, with filters')
    .option('--actor <id>', 'actor id, subject, or kind:id as listed (user:ana@example.com)')
    .option('--env <env>')
    .option('--dag <dagId>', 'a DAG id, or env/dagId as listed (prod/nightly_revenue)')
    .option('--run <runId>')
    .option('--action <action>', 'trigger, approve, run.state, …')
    .option('--decision <effect>', 'allow, deny, needs_approval, …')
    .option('--since <time>', 'age (30m, 24h, 7d), ISO time or epoch ms (inclusive)')
    .option('--until <time>', 'age, ISO time or epoch ms (exclusive)')
    .option('--param <name=value>', 'a param value; sensitive params match through their HMAC')
    .option('--after-seq <seq>', 'page after this seq', Number)
    .option('--limit <n>', 'records per page (default 100)', Number)
    .option('--json', 'print records as JSON');
  clientOptions(query).action(
    async (opts: Record<string, string | number | boolean | undefined>, cmd: Command) => {
      const str = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
      const param = str('param');
      if (param !== undefined && param.indexOf('=') <= 0)
        throw new AirclutchError('REQUEST_INVALID', `--param takes name=value, not "${param}"`);
      const { env, dag } = dagFilter(str('env'), str('dag'));
      const now = Date.now();
      const since = str('since') ? parseTimeBound(str('since')!, now) : undefined;
      const until = str('until') ? parseTimeBound(str('until')!, now) : undefined;
      const api = await apiClient(cmd, opts as ClientFlags);
      const page = await api.get<{ records: AuditRecordView[]; nextAfter: number | null; notice?: string }>(
        '/api/v1/audit',
        {
          actor: str('actor'),
          env,
          dag,
          run: str('run'),
          action: str('action'),
          effect: str('decision'),
          since,
          until,
          param,
          after: opts.afterSeq as number | undefined,
          limit: opts.limit as number | undefined,
        },
      );
      if (opts.json) {
        printJson(page);
        return;
      }
      printTable(
        page.records.map((r) => ({
          seq: r.seq,
          time: new Date(r.ts).toISOString(),
          action: r.action,
          actor: r.actor ? `${r.actor.kind}:${r.actor.id}` : '',
          dag: r.resource?.dagId ? `${r.resource.env ?? ''}/${r.resource.dagId}` : '',
          run: r.resource?.runId ?? '',
          decision: r.decision?.effect ?? '',
          outcome: r.outcome ?? '',
        })),
        false,
      );
      if (page.nextAfter !== null) process.stdout.write(`more: --after-seq ${page.nextAfter}\n`);
      // Nothing to show because nothing may be shown: say what would change that.
      if (page.notice) process.stderr.write(`${page.notice}\n`);
    },
  );

  const exportCmd = audit
    .command('export')
    .description('Export a time window as JSON Lines (signed when a checkpoint key is configured) or CSV')
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--since <time>', 'age (30m, 24h, 7d), ISO time or epoch ms (inclusive)')
    .option('--until <time>', 'age, ISO time or epoch ms (exclusive)')
    .option('-o, --out <file>', 'write here instead of stdout');
  clientOptions(exportCmd).action(async (opts: ExportFlags, cmd: Command) => {
    const now = Date.now();
    const since = opts.since ? parseTimeBound(opts.since, now) : undefined;
    const until = opts.until ? parseTimeBound(opts.until, now) : undefined;
    const api = await apiClient(cmd, opts);
    const res = await api.stream('/api/v1/audit/export', { format: opts.format, since, until });
    const { createWriteStream } = await import('node:fs');
    const { pipeline } = await import('node:stream/promises');
    // Nothing is written before the server allowed the export: a refusal leaves no file.
    let records = 0;
    let partial = '';
    const out: Writable = opts.out ? createWriteStream(opts.out, { mode: 0o600 }) : process.stdout;
    res.body.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const l of lines) if (l && !l.startsWith('{"type":"checkpoint"')) records++;
    });
    await pipeline(res.body, out, { end: opts.out !== undefined });
    // A CSV export starts with its header line.
    if (opts.format === 'csv' && records > 0) records--;
    if (opts.out) process.stderr.write(`exported ${records} record(s) to ${opts.out}\n`);
  });

  audit
    .command('checkpoint')
    .description(
      'Verify the chain, sign its head with the configured Ed25519 key, store and print the checkpoint',
    )
    .option('-o, --out <file>', 'also write the checkpoint JSON here (keep it somewhere else)')
    .action(async (opts: { out?: string }, cmd: Command) => {
      const config = await configFor(cmd);
      const key = loadCheckpointPrivateKey(config);
      if (!key)
        throw new AirclutchError(
          'CONFIG_INVALID',
          'set audit.checkpointKeyFile (create one with `airclutch audit keygen`)',
        );
      await withStore(config, async (db) => {
        const cp = await createCheckpoint(db, key);
        const text = `${JSON.stringify({ type: 'checkpoint', ...cp })}\n`;
        if (opts.out) writeFileSync(opts.out, text);
        process.stdout.write(text);
      });
    });

  audit
    .command('keygen')
    .description('Create an Ed25519 key pair for checkpoints (PEM files)')
    .requiredOption('--private <file>', 'where to write the private key (mode 0600)')
    .requiredOption('--public <file>', 'where to write the public key')
    .action((opts: { private: string; public: string }) => {
      const { privateKeyPem, publicKeyPem } = generateCheckpointKeys();
      writeFileSync(opts.private, privateKeyPem, { mode: 0o600, flag: 'wx' });
      writeFileSync(opts.public, publicKeyPem, { flag: 'wx' });
      process.stdout.write(`wrote ${opts.private} and ${opts.public}\n`);
    });

  return audit;
}

/** `--dag` as the DAG column lists it (`prod/nightly_revenue`) names the environment too. */
function dagFilter(env: string | undefined, dag: string | undefined): { env?: string; dag?: string } {
  const slash = dag?.indexOf('/') ?? -1;
  if (dag === undefined || slash < 0) return { env, dag };
  const [listedEnv, dagId] = [dag.slice(0, slash), dag.slice(slash + 1)];
  if (env !== undefined && env !== listedEnv)
    throw new AirclutchError(
      'REQUEST_INVALID',
      `--dag ${dag} names environment ${listedEnv}, but --env says ${env}: give one of them`,
    );
  return { env: listedEnv, dag: dagId };
}
