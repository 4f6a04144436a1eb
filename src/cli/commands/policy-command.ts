/** `airclutch policy validate | test | explain | replay`: argument parsing over `src/policy`. @module */
import { Command } from 'commander';
import { AirclutchError } from '../../lib/errors.ts';
import { parseTimeBound } from '../../lib/parse-time-bound.ts';
import { ACTIONS, type PolicyAction } from '../../policy/cedar-names.ts';
import { CedarPolicyEngine } from '../../policy/cedar-policy-engine.ts';
import { findPolicyTestFiles } from '../../policy/find-policy-test-files.ts';
import { describeProblems } from '../../policy/policy-sources.ts';
import { policySourcesFromRegistry } from '../../policy/policy-sources-from-registry.ts';
import { CedarPolicyStore } from '../../policy/policy-store.ts';
import { runPolicyTests } from '../../policy/policy-test-runner.ts';
import { type ReplayReport, replayDecisions } from '../../policy/replay-decisions.ts';
import { type ClientFlags, clientOptions } from '../api-client.ts';
import { configFor, loadRegistry, printTable, withStore } from '../cli-context.ts';

interface ExplainView {
  effect: 'allow' | 'deny';
  policies: string[];
  reasons: string[];
  errors: string[];
  determining: { id: string; effect: 'permit' | 'forbid'; annotations: Record<string, string> }[];
  wouldAllow: string[];
  outcome?: 'allow' | 'approval' | 'deny';
  quorum?: number;
  approvers?: { kind: 'group' | 'user' | 'service' | 'anyone'; id: string | null }[];
}

/** "data-leads", "data-leads or ana@example.com", or the rule when policy names no one. */
function approversText(approvers: ExplainView['approvers']): string {
  if (!approvers?.length) return 'people policy lets approve';
  return approvers.map((a) => (a.kind === 'anyone' ? 'anyone' : (a.id ?? ''))).join(' or ');
}

/**
 * The explanation in plain words: for a trigger, whether it starts, needs approval (how many votes,
 * because of which forbid) or is refused (and what would allow it).
 */
export function explainText(e: ExplainView, action: string): string {
  const because = (effect: 'permit' | 'forbid') => {
    const ps = e.determining.filter((p) => p.effect === effect);
    return ps.map((p) => (p.annotations.reason ? `${p.annotations.reason} (${p.id})` : p.id)).join('; ');
  };
  const lines: string[] = [];
  if (e.outcome === 'approval') {
    const n = e.quorum ?? 1;
    const why = because('forbid') || e.reasons.join('; ') || 'no policy permits trigger';
    lines.push(
      `needs ${n} approval${n === 1 ? '' : 's'} from ${approversText(e.approvers)} (never the requester), because ${why}`,
    );
  } else if (e.effect === 'allow') {
    lines.push(
      `allowed: ${action === 'trigger' ? 'starts now, ' : ''}because ${because('permit') || e.reasons.join('; ')}`,
    );
  } else {
    const forbids = because('forbid');
    lines.push(`denied: ${forbids ? `forbidden by ${forbids}` : `no policy permits ${action}`}`);
    for (const w of e.wouldAllow) lines.push(`  would allow: ${w}`);
  }
  for (const err of e.errors) lines.push(`  error: ${err}`);
  return `${lines.join('\n')}\n`;
}

async function loadEngine(cmd: Command) {
  const config = await configFor(cmd);
  const registry = await loadRegistry(config, undefined);
  const sources = policySourcesFromRegistry(config, registry);
  const store = new CedarPolicyStore(sources);
  const result = await store.load();
  if (!result.ok) {
    // The store's message speaks for a server (what stays active); here the files were only read.
    const { count, list } = describeProblems(result.problems);
    throw new AirclutchError(
      'POLICY_INVALID',
      `the policies do not load (${count}); a running server keeps the set it has until they do; fix:\n${list}`,
      { details: { problems: result.problems } },
    );
  }
  return { config, sources, store, result, engine: new CedarPolicyEngine(store) };
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function policyCommand(): Command {
  const policy = new Command('policy').description('Validate, test and explain Cedar policies');
  policy
    .command('validate')
    .description('Load every policy against the schema generated from the DAGs; exit 1 on any problem')
    .action(async (_o, cmd: Command) => {
      const { result } = await loadEngine(cmd);
      if (!result.ok) return;
      process.stdout.write(`ok: ${result.policyCount} policies valid\n`);
      for (const n of result.notes) process.stdout.write(`note: ${n}\n`);
    });
  policy
    .command('test [files...]')
    .description('Run YAML policy test cases (*.cedar-test.yaml, policies/tests/*.yaml)')
    .option('--json', 'print results as JSON')
    .action(async (files: string[], opts: { json?: boolean }, cmd: Command) => {
      const { config, engine } = await loadEngine(cmd);
      const list = files.length ? files : await findPolicyTestFiles(config);
      const results = await runPolicyTests(engine, list);
      printTable(
        results.map((r) => ({
          result: r.passed ? 'pass' : 'FAIL',
          name: r.name,
          expected: r.expected,
          actual: r.actual,
          why: r.why.join('; '),
        })),
        opts.json,
      );
      const failed = results.filter((r) => !r.passed).length;
      if (failed) {
        throw new AirclutchError('POLICY_DENIED', `${failed} of ${results.length} policy tests failed`);
      }
    });
  policy.addCommand(
    clientOptions(
      new Command('explain')
        .description(
          'Ask the server how policy decides a request (yours, or --for someone else) and why: allowed, needs approval, or denied',
        )
        .requiredOption('--dag <dag>', 'DAG id')
        .option('--env <env>', 'environment (default: the server’s default environment)')
        .option('--action <action>', `one of ${ACTIONS.join(', ')}`, 'trigger')
        .option('--param <k=v>', 'param (value parsed as JSON when it can be; repeatable)', collect, [])
        .option('--for <id>', 'explain for this user email or service instead of you (needs readAudit)')
        .option('--service', 'with --for: the principal is a service')
        .option('--group <group>', 'with --for: an IdP group of that principal (repeatable)', collect, [])
        .option('--json', 'print the explanation as JSON'),
    ).action(async (o: ExplainOptions, cmd: Command) => {
      if (!o.for && (o.group.length || o.service)) {
        throw new AirclutchError(
          'REQUEST_INVALID',
          '--group and --service describe the principal of --for; without --for the server explains for you, with the groups of your token',
        );
      }
      const { apiClient } = await import('../api-client.ts');
      const api = await apiClient(cmd, o);
      const e = await api.post<ExplainView>('/api/v1/authorize/explain', {
        action: o.action,
        dagId: o.dag,
        ...(o.env ? { env: o.env } : {}),
        params: Object.fromEntries(o.param.map(parseParam)),
        ...(o.for ? { as: { id: o.for, kind: o.service ? 'service' : 'user', groups: o.group } } : {}),
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(e, null, 2)}\n`);
        return;
      }
      process.stdout.write(explainText(e, o.action));
    }),
  );
  policy
    .command('replay')
    .description(
      'Re-decide audited decisions under the policies in the working tree; list every one that would change (exit 1 if any)',
    )
    .option('--since <time>', 'age (7d, 24h, 30m) or ISO time or epoch ms', '7d')
    .option('--until <time>', 'age or ISO time or epoch ms (exclusive; default: now)')
    .option('--json', 'print the report as JSON')
    .action(async (o: { since: string; until?: string; json?: boolean }, cmd: Command) => {
      const { config, engine } = await loadEngine(cmd);
      const now = Date.now();
      const window = {
        since: parseTimeBound(o.since, now),
        until: o.until ? parseTimeBound(o.until, now) : undefined,
      };
      const report = await withStore(config, (db) => replayDecisions(db, engine, window));
      printReplay(report, o.json);
      if (report.changed.length) {
        throw new AirclutchError(
          'POLICY_DENIED',
          `${report.changed.length} of ${report.examined} audited decisions would change under these policies`,
        );
      }
    });
  return policy;
}

function printReplay(report: ReplayReport, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const when = (ts: number) => new Date(ts).toISOString();
  process.stdout.write(
    `${report.examined} decisions replayed: ${report.unchanged} unchanged, ${report.changed.length} would change, ${report.notReplayable.length} not replayable\n`,
  );
  if (report.changed.length) {
    printTable(
      report.changed.map((c) => ({
        seq: c.seq,
        time: when(c.ts),
        actor: c.actor,
        action: c.action,
        resource: c.resource,
        change: `${c.recorded} -> ${c.replayed}`,
        policies: c.policies.join(', '),
      })),
      false,
    );
  }
  for (const u of report.notReplayable) {
    process.stdout.write(
      `not replayable: seq ${u.seq} ${u.action} by ${u.actor} on ${u.resource}: ${u.why}\n`,
    );
  }
}

interface ExplainOptions extends ClientFlags {
  for?: string;
  service?: boolean;
  group: string[];
  dag: string;
  env?: string;
  action: PolicyAction;
  param: string[];
  json?: boolean;
}

function parseParam(kv: string): [string, unknown] {
  const i = kv.indexOf('=');
  if (i < 1) throw new AirclutchError('REQUEST_INVALID', `--param ${JSON.stringify(kv)} must be key=value`);
  const v = kv.slice(i + 1);
  try {
    return [kv.slice(0, i), JSON.parse(v)];
  } catch {
    return [kv.slice(0, i), v];
  }
}
