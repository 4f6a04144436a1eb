/** `airclutch policy validate | test | explain | replay`: argument parsing over `src/policy`. @module */
import { Command } from 'commander';
import { servicePrincipal } from '../../identity/principal.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { ACTIONS, type PolicyAction, type RequestSource, SOURCES } from '../../policy/cedar-names.ts';
import { CedarPolicyEngine } from '../../policy/cedar-policy-engine.ts';
import { decideTrigger, decideUnpause } from '../../policy/decide-trigger.ts';
import { findPolicyTestFiles } from '../../policy/find-policy-test-files.ts';
import { parseTimeBound } from '../../policy/parse-time-bound.ts';
import { policySourcesFromRegistry } from '../../policy/policy-sources-from-registry.ts';
import { CedarPolicyStore } from '../../policy/policy-store.ts';
import { runPolicyTests } from '../../policy/policy-test-runner.ts';
import { type ReplayReport, replayDecisions } from '../../policy/replay-decisions.ts';
import { configFor, loadRegistry, printTable, withStore } from '../cli-context.ts';

async function loadEngine(cmd: Command) {
  const config = await configFor(cmd);
  const registry = await loadRegistry(config, undefined);
  const sources = policySourcesFromRegistry(config, registry);
  const store = new CedarPolicyStore(sources);
  const result = await store.load();
  if (!result.ok) throw result.error;
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
          why: r.decision.reasons.join('; '),
        })),
        opts.json,
      );
      const failed = results.filter((r) => !r.passed).length;
      if (failed) {
        throw new AirclutchError('POLICY_DENIED', `${failed} of ${results.length} policy tests failed`);
      }
    });
  policy
    .command('explain')
    .description('Decide one request and say which policies determined it, and what would allow it')
    .requiredOption('--as <id>', 'user email or service name')
    .option('--service', 'the principal is a service')
    .option('--group <group>', 'IdP group (repeatable)', collect, [])
    .requiredOption('--dag <dag>', 'DAG id')
    .option('--env <env>', 'environment (default: the config default)')
    .option('--action <action>', `one of ${ACTIONS.join(', ')}`, 'trigger')
    .option('--source <source>', `one of ${SOURCES.join(', ')}`, 'cli')
    .option('--param <k=v>', 'param (value parsed as JSON when it can be; repeatable)', collect, [])
    .option('--json', 'print the explanation as JSON')
    .action(async (o: ExplainOptions, cmd: Command) => {
      const { config, sources, engine } = await loadEngine(cmd);
      const env = o.env ?? config.defaultEnv;
      const source = sources.dags.find((d) => d.env === env && d.dag.id === o.dag);
      if (!source) throw new AirclutchError('DAG_NOT_FOUND', `DAG ${o.dag} is not in environment ${env}`);
      const raw = Object.fromEntries(o.param.map(parseParam));
      const params = await (
        source.dag as unknown as { parseParams(r: unknown): Promise<Record<string, unknown>> }
      ).parseParams(raw);
      const principal = o.service
        ? { ...servicePrincipal(o.as), groups: o.group }
        : { kind: 'user' as const, id: o.as, groups: o.group, issuer: 'cli', subject: o.as };
      const request = {
        principal,
        action: o.action,
        resource: { kind: 'dag' as const, env, dagId: o.dag },
        context: { params, now: new Date(), source: o.source },
      };
      const explanation = engine.explain(request);
      // trigger and unpause have three outcomes: allowed now, needs approval (their request* action), denied.
      const trigger =
        o.action === 'trigger'
          ? decideTrigger(engine, request).outcome
          : o.action === 'unpause'
            ? decideUnpause(engine, request).outcome
            : undefined;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ ...explanation, outcome: trigger }, null, 2)}\n`);
        return;
      }
      const d = explanation.decision;
      process.stdout.write(
        `${d.effect.toUpperCase()}${trigger ? ` (${o.action} outcome: ${trigger})` : ''}\n`,
      );
      for (const p of explanation.determining)
        process.stdout.write(
          `  ${p.effect} ${p.id}${p.annotations.reason ? `: ${p.annotations.reason}` : ''}\n`,
        );
      for (const r of d.reasons) process.stdout.write(`  reason: ${r}\n`);
      for (const e of d.errors) process.stdout.write(`  error: ${e}\n`);
      for (const w of explanation.wouldAllow) process.stdout.write(`  would allow: ${w}\n`);
    });
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

interface ExplainOptions {
  as: string;
  service?: boolean;
  group: string[];
  dag: string;
  env?: string;
  action: PolicyAction;
  source: RequestSource;
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
