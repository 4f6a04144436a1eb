import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChangeWatch, watchForChanges } from '../../src/app/watch-for-changes.ts';
import { queryAudit } from '../../src/audit/query-audit.ts';
import { DagRegistry } from '../../src/dag/dag-registry.ts';
import { createWorld, outsider, type World } from '../helpers/gate-world.ts';

let world: World | undefined;
let watching: ChangeWatch | undefined;
afterEach(async () => {
  await watching?.close();
  watching = undefined;
  await world?.dispose();
  world = undefined;
});

const silent = pino({ level: 'silent' });

/** Saves as `sed -i` and editors do: a temp file beside the target, renamed over it. */
function atomicSave(w: World, name: string, text: string): void {
  const target = join(w.dir, name);
  const temp = join(dirname(target), `sed${Math.random().toString(36).slice(2, 8)}`);
  writeFileSync(temp, text);
  renameSync(temp, target);
}

/** Waits for `event` until `done()` holds after one; fails naming `what` after a generous timeout. */
function until(
  watch: ChangeWatch,
  event: 'dags' | 'policies',
  done: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      watch.off(event, on);
      fail(new Error(`no ${event} reload within ${timeoutMs} ms after ${what}`));
    }, timeoutMs);
    const on = () => {
      Promise.resolve(done()).then((yes) => {
        if (!yes) return;
        clearTimeout(timer);
        watch.off(event, on);
        ok();
      }, fail);
    };
    watch.on(event, on);
  });
}

async function lastRecord(w: World, action: string) {
  const { records } = await queryAudit(w.db, { action, limit: 10_000 });
  return records.at(-1);
}

const revenue = (rows: number) => `
import { dag } from 'airclutch';
import { z } from 'zod';
const d = dag({ id: 'revenue', owner: 'data-eng', params: z.object({ rows: z.number().int().default(${rows}) }) });
d.task('extract', (ctx) => ({ rows: ctx.params.rows }));
export default d;
`;

const GUESTS_MAY_VIEW = `@reason("guests may look")
permit (principal in Group::"visitors", action == Action::"view", resource);
`;

function guestMayView(w: World): boolean {
  return (
    w.policy.decide({
      principal: outsider,
      action: 'view',
      resource: { kind: 'dag', env: 'dev', dagId: 'revenue' },
      context: { now: new Date(), source: 'api' },
    }).effect === 'allow'
  );
}

describe('watchForChanges (dev mode reloading)', () => {
  it('loads each atomic save of a DAG file and records the version it loaded in the audit trail', async () => {
    world = await createWorld('sqlite');
    const w = world;
    watching = watchForChanges(w, silent, { debounceMs: 20 });
    await watching.ready;
    const seen = new Set([w.registry.get('dev', 'revenue').version]);
    for (let edit = 1; edit <= 3; edit++) {
      const rows = 100 * edit;
      const reloaded = until(
        watching,
        'dags',
        async () => (await lastRecord(w, 'dag.load'))?.resource?.dagVersion !== [...seen].at(-1),
        `atomic save ${edit} of dags/revenue.ts`,
      );
      atomicSave(w, 'dags/revenue.ts', revenue(rows));
      await reloaded;
      const loaded = w.registry.get('dev', 'revenue');
      expect(await loaded.dag.parseParams({})).toEqual({ rows });
      const record = await lastRecord(w, 'dag.load');
      expect(record?.outcome).toBe('changed');
      expect(record?.resource).toMatchObject({ env: 'dev', dagId: 'revenue', dagVersion: loaded.version });
      seen.add(loaded.version);
    }
    expect(seen.size).toBe(4);
    // The CLI loads the files itself: from the same contents it computes the same version.
    const cli = new DagRegistry(w.config);
    await cli.reload();
    expect(cli.get('dev', 'revenue').version).toBe(w.registry.get('dev', 'revenue').version);
  });

  it('keeps the working DAG when a newly saved file reuses its id, and records no removal', async () => {
    world = await createWorld('sqlite');
    const w = world;
    watching = watchForChanges(w, silent, { debounceMs: 20 });
    await watching.ready;
    const good = w.registry.get('dev', 'revenue');
    const reloaded = until(watching, 'dags', () => w.registry.errors().length > 0, 'saving dags/a_copy.ts');
    atomicSave(w, 'dags/a_copy.ts', revenue(5));
    await reloaded;
    const kept = w.registry.get('dev', 'revenue');
    expect([kept.file, kept.version]).toEqual([good.file, good.version]);
    expect(w.registry.errors().map((e) => [e.file, e.message])).toEqual([
      [
        join(w.dir, 'dags/a_copy.ts'),
        'duplicate DAG id revenue: already defined in revenue.ts, which stays loaded; give this DAG another id',
      ],
    ]);
    const { records } = await queryAudit(w.db, { action: 'dag.load', limit: 100 });
    expect(records).toEqual([]);
  });

  it('loads each atomic save of a policy file, including after it is deleted and created again', async () => {
    world = await createWorld('sqlite');
    const w = world;
    watching = watchForChanges(w, silent, { debounceMs: 20 });
    await watching.ready;
    expect(guestMayView(w)).toBe(false);
    const steps: Array<[string, string | null, boolean]> = [
      ['save 1 adds a permit', GUESTS_MAY_VIEW, true],
      ['save 2 takes it out', '// nothing here\n', false],
      ['save 3 puts it back', GUESTS_MAY_VIEW, true],
      ['deleting the file', null, false],
      ['creating it again', GUESTS_MAY_VIEW, true],
    ];
    let generation = w.policies.current()!.generation;
    for (const [what, text, allowed] of steps) {
      const reloaded = until(watching, 'policies', () => guestMayView(w) === allowed, what);
      if (text === null) rmSync(join(w.dir, 'policies/guests.cedar'));
      else atomicSave(w, 'policies/guests.cedar', text);
      await reloaded;
      const record = await lastRecord(w, 'policy.load');
      expect(record?.outcome).toBe('loaded');
      const details = record?.details as { generation: number; files: Record<string, string> };
      expect(details.generation).toBe(w.policies.current()!.generation);
      expect(details.generation).toBeGreaterThan(generation);
      expect(Object.keys(details.files).includes('policies/guests.cedar')).toBe(allowed);
      generation = details.generation;
    }
  });
});
