import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DagRegistry, type DagRegistryChange } from '../../src/dag/dag-registry.ts';
import type { FolderWatch } from '../../src/dag/watch-folders.ts';
import { isAirclutchError } from '../../src/lib/errors.ts';
import { nearMatches } from '../../src/lib/near-matches.ts';
import { thrown } from '../helpers/thrown.ts';
import { dagSource, type FixtureDir, fixtureDir } from './dag-fixtures.ts';

let fx: FixtureDir;
let watching: FolderWatch | undefined;
afterEach(async () => {
  await watching?.close();
  watching = undefined;
  fx?.remove();
});

/** Saves `text` as `sed -i` and editors do: a temp file in the same folder, renamed over the target. */
function atomicSave(dir: string, name: string, text: string): void {
  const temp = join(dir, `sed${Math.random().toString(36).slice(2, 8)}`);
  writeFileSync(temp, text);
  renameSync(temp, join(dir, name));
}

/** The next `'change'` of `r`, or a failure naming what was awaited after a generous timeout. */
function nextChange(r: DagRegistry, what: string, timeoutMs = 20_000): Promise<DagRegistryChange> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      r.off('change', on);
      fail(new Error(`no reload within ${timeoutMs} ms after ${what}`));
    }, timeoutMs);
    const on = (c: DagRegistryChange) => {
      clearTimeout(timer);
      ok(c);
    };
    r.once('change', on);
  });
}

function registry(envs: Record<string, string[]> = { dev: ['dags'] }): DagRegistry {
  return new DagRegistry({
    rootDir: fx.dir,
    dataDir: join(fx.dir, '.airclutch'),
    environments: Object.fromEntries(Object.entries(envs).map(([e, dags]) => [e, { dags, policies: [] }])),
  });
}

describe('DagRegistry', () => {
  it('holds the DAGs and errors of every environment', async () => {
    fx = fixtureDir({
      'dags/a.ts': dagSource('alpha'),
      'dags/broken.ts': 'export const = 1;\n',
      'prod/a.ts': dagSource('alpha'),
    });
    const r = registry({ dev: ['dags'], prod: ['prod'] });
    await r.reload();
    expect(r.list().map((d) => `${d.env}/${d.dag.id}`)).toEqual(['dev/alpha', 'prod/alpha']);
    expect(r.list('prod').map((d) => d.dag.id)).toEqual(['alpha']);
    expect(r.get('dev', 'alpha').file).toBe(join(fx.dir, 'dags/a.ts'));
    expect(r.errors().map((e) => [e.env, e.file.slice(fx.dir.length + 1), e.line])).toEqual([
      ['dev', 'dags/broken.ts', 1],
    ]);
    expect(r.errors('prod')).toEqual([]);
  });

  it('names near matches when a DAG id is unknown', async () => {
    fx = fixtureDir({
      'dags/a.ts': dagSource('nightly_revenue'),
      'dags/b.ts': dagSource('nightly_costs'),
      'dags/c.ts': dagSource('hourly_sync'),
    });
    const r = registry();
    await r.reload();
    const e = thrown(() => r.get('dev', 'nightly_revnue'));
    expect(isAirclutchError(e) && e.code).toBe('DAG_NOT_FOUND');
    expect((e as Error).message).toBe(
      'DAG nightly_revnue not found in environment dev; did you mean nightly_revenue, nightly_costs?',
    );
    expect((e as { details: unknown }).details).toEqual({
      env: 'dev',
      dagId: 'nightly_revnue',
      suggestions: ['nightly_revenue', 'nightly_costs'],
    });
    const far = thrown(() => r.get('dev', 'zzz'));
    expect((far as Error).message).toBe(
      'DAG zzz not found in environment dev; known DAGs: hourly_sync, nightly_costs, nightly_revenue',
    );
    const env = thrown(() => r.get('qa', 'hourly_sync'));
    expect((env as Error).message).toBe('environment qa is not configured; environments: dev');
  });

  it('says a DAG failed to load instead of guessing when its file is broken', async () => {
    fx = fixtureDir({
      'dags/c.ts': [
        "import { dag } from 'airclutch';",
        "const d = dag({ id: 'cyc' });",
        "d.task('a', { after: ['a'] }, () => 1);",
        'export default d;',
      ].join('\n'),
    });
    const r = registry();
    await r.reload();
    expect((thrown(() => r.get('dev', 'cyc')) as Error).message).toBe(
      'DAG cyc not found in environment dev (it failed to load: see `airclutch dags list --env dev`)',
    );
  });

  it('reports what a reload added, changed and removed, and which errors are new', async () => {
    fx = fixtureDir({ 'dags/a.ts': dagSource('a'), 'dags/b.ts': dagSource('b') });
    const r = registry();
    const first = await r.reload();
    expect(first.added).toEqual(['dev/a', 'dev/b']);
    fx.write({
      'dags/a.ts': dagSource('a', 2),
      'dags/b.ts': 'syntax error here\n',
      'dags/c.ts': dagSource('c'),
    });
    const second = await r.reload();
    expect([second.added, second.changed, second.removed]).toEqual([['dev/c'], ['dev/a'], ['dev/b']]);
    expect(second.newErrors.map((e) => e.file)).toEqual([join(fx.dir, 'dags/b.ts')]);
    fx.write({ 'dags/b.ts': dagSource('b') });
    const third = await r.reload();
    expect(third.added).toEqual(['dev/b']);
    expect(third.fixedErrors).toHaveLength(1);
  });

  it('gives the same files the same version wherever the folder lives and whenever it loads, as the server and the CLI need', async () => {
    const files = {
      'dags/a.ts': dagSource('a', 1, "import { v } from './lib/v.ts'; void v;"),
      'dags/lib/v.ts': 'export const v = 1;\n',
    };
    fx = fixtureDir(files);
    const other = fixtureDir(files);
    try {
      const server = registry();
      await server.reload();
      const cli = new DagRegistry({
        rootDir: other.dir,
        dataDir: join(other.dir, '.airclutch'),
        environments: { dev: { dags: ['dags'], policies: [] } },
      });
      await cli.reload();
      expect(cli.get('dev', 'a').version).toBe(server.get('dev', 'a').version);
      await server.reload();
      expect(server.get('dev', 'a').version).toBe(cli.get('dev', 'a').version);
      other.write({ 'dags/lib/v.ts': 'export const v = 2;\n' });
      await cli.reload();
      expect(cli.get('dev', 'a').version).not.toBe(server.get('dev', 'a').version);
    } finally {
      other.remove();
    }
  });

  it('keeps a working DAG loaded in every environment when a new file reuses its id, and makes the newcomer the import error', async () => {
    fx = fixtureDir({ 'dags/nightly.ts': dagSource('nightly', 'good') });
    const r = registry({ dev: ['dags'], prod: ['dags'] });
    await r.reload();
    const good = r.get('prod', 'nightly');
    // Sorts first, so path order alone would pick it.
    fx.write({ 'dags/a_copy.ts': dagSource('nightly', 'impostor') });
    const change = await r.reload();
    expect([change.added, change.changed, change.removed]).toEqual([[], [], []]);
    for (const env of ['dev', 'prod']) {
      const kept = r.get(env, 'nightly');
      expect([kept.file, kept.version]).toEqual([good.file, good.version]);
      expect(await kept.dag.tasks.get('a')!.fn!({} as never)).toBe('good');
    }
    const message =
      'duplicate DAG id nightly: already defined in nightly.ts, which stays loaded; give this DAG another id';
    expect(change.newErrors.map((e) => [e.env, e.file, e.line, e.dagId, e.message])).toEqual([
      ['dev', join(fx.dir, 'dags/a_copy.ts'), 3, 'nightly', message],
      ['prod', join(fx.dir, 'dags/a_copy.ts'), 3, 'nightly', message],
    ]);
    // Still so on the next reload, and once the newcomer is renamed both load.
    await r.reload();
    expect(r.get('dev', 'nightly').file).toBe(good.file);
    fx.write({ 'dags/a_copy.ts': dagSource('nightly_copy', 'impostor') });
    const fixed = await r.reload();
    expect(fixed.added).toEqual(['dev/nightly_copy', 'prod/nightly_copy']);
    expect(fixed.fixedErrors).toHaveLength(2);
  });

  it('keeps the DAG the store last saw in a file on a cold start, across folders of one environment', async () => {
    fx = fixtureDir({ 'a/x.ts': dagSource('x', 'a'), 'b/x.ts': dagSource('x', 'b') });
    const holder = join(fx.dir, 'b/x.ts');
    const r = new DagRegistry(
      {
        rootDir: fx.dir,
        dataDir: join(fx.dir, '.airclutch'),
        environments: { dev: { dags: ['a', 'b'], policies: [] } },
      },
      { incumbents: new Map([['dev/x', holder]]) },
    );
    await r.reload();
    expect(r.get('dev', 'x').file).toBe(holder);
    expect(r.errors().map((e) => [e.file, e.message])).toEqual([
      [
        join(fx.dir, 'a/x.ts'),
        'duplicate DAG id x: already defined in b/x.ts, which stays loaded; give this DAG another id',
      ],
    ]);
    const cold = registry({ dev: ['a', 'b'] });
    await cold.reload();
    expect(cold.get('dev', 'x').file).toBe(join(fx.dir, 'a/x.ts'));
  });

  it('emits a change when a watched file is edited', async () => {
    fx = fixtureDir({ 'dags/a.ts': dagSource('a'), 'dags/lib/v.ts': 'export const v = 1;\n' });
    const r = registry();
    await r.reload();
    watching = r.watch({ debounceMs: 20 });
    await watching.ready;
    const changed = new Promise<DagRegistryChange>((ok) => r.once('change', ok));
    fx.write({ 'dags/new.ts': dagSource('fresh') });
    const change = await changed;
    expect(change.added).toEqual(['dev/fresh']);
    expect(r.get('dev', 'fresh').dag.id).toBe('fresh');
  });

  it('picks up every edit of a DAG file saved atomically (temp file renamed over it), one after another', async () => {
    fx = fixtureDir({ 'dags/a.ts': dagSource('a', 0) });
    const r = registry();
    await r.reload();
    watching = r.watch({ debounceMs: 20 });
    await watching.ready;
    const versions = [r.get('dev', 'a').version];
    for (let edit = 1; edit <= 4; edit++) {
      const changed = nextChange(r, `atomic save number ${edit}`);
      atomicSave(join(fx.dir, 'dags'), 'a.ts', dagSource('a', edit));
      const change = await changed;
      expect(change.changed).toEqual(['dev/a']);
      const loaded = r.get('dev', 'a');
      expect(await loaded.dag.tasks.get('a')!.fn!({} as never)).toBe(edit);
      versions.push(loaded.version);
    }
    expect(new Set(versions).size).toBe(5);
  });

  it('ends with the last of several atomic saves made in quick succession', async () => {
    fx = fixtureDir({ 'dags/a.ts': dagSource('a', 0) });
    const r = registry();
    await r.reload();
    watching = r.watch({ debounceMs: 20 });
    await watching.ready;
    const first = nextChange(r, 'the first save');
    atomicSave(join(fx.dir, 'dags'), 'a.ts', dagSource('a', 1));
    await first;
    // Within chokidar's 50 ms window, where it drops a second change event of the same file.
    for (let edit = 2; edit <= 4; edit++) atomicSave(join(fx.dir, 'dags'), 'a.ts', dagSource('a', edit));
    const task = () => r.get('dev', 'a').dag.tasks.get('a')!.fn!({} as never);
    while ((await task()) !== 4) await nextChange(r, 'three saves in a row');
    expect(await task()).toBe(4);
  });

  it('reloads a DAG file that is deleted and then created again', async () => {
    fx = fixtureDir({ 'dags/a.ts': dagSource('a'), 'dags/b.ts': dagSource('b') });
    const r = registry();
    await r.reload();
    watching = r.watch({ debounceMs: 20 });
    await watching.ready;
    const removed = nextChange(r, 'deleting dags/a.ts');
    rmSync(join(fx.dir, 'dags/a.ts'));
    expect((await removed).removed).toEqual(['dev/a']);
    const added = nextChange(r, 'creating dags/a.ts again');
    atomicSave(join(fx.dir, 'dags'), 'a.ts', dagSource('a', 'back'));
    expect((await added).added).toEqual(['dev/a']);
    const edited = nextChange(r, 'editing the re-created dags/a.ts');
    atomicSave(join(fx.dir, 'dags'), 'a.ts', dagSource('a', 'edited'));
    expect((await edited).changed).toEqual(['dev/a']);
  });
});

describe('nearMatches', () => {
  it('finds typos, swaps and shared prefixes, closest first', () => {
    const ids = ['nightly_revenue', 'nightly_costs', 'hourly', 'etl'];
    expect(nearMatches('nightly_revenue_v2', ids)).toEqual(['nightly_revenue', 'nightly_costs']);
    expect(nearMatches('huorly', ids)).toEqual(['hourly']);
    expect(nearMatches('ETL', ids)).toEqual(['etl']);
    expect(nearMatches('xyz', ids)).toEqual([]);
  });
});
