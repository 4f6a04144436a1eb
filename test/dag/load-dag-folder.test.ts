import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDagFolder } from '../../src/dag/load-dag-folder.ts';
import { dagSource, type FixtureDir, fixtureDir } from './dag-fixtures.ts';

let fx: FixtureDir;
afterEach(() => fx?.remove());

const cacheDir = () => join(fx.dir, '.cache');

describe('loadDagFolder', () => {
  it('loads the DAGs of good files while reporting each broken file with its line', async () => {
    fx = fixtureDir({
      'good.ts': [
        "import { dag } from 'airclutch';",
        "import { z } from 'zod';",
        "import { greeting } from './lib/helper.ts';",
        "const d = dag({ id: 'good', params: z.object({ n: z.number().default(1) }) });",
        'd.task("a", () => greeting);',
        'export default d;',
      ].join('\n'),
      'lib/helper.ts': "export const greeting = 'hi';\n",
      'syntax.ts': "import { dag } from 'airclutch';\n\nconst d = dag({ id: 'syntax' );\nexport default d;\n",
      'throws.ts': [
        "import { dag } from 'airclutch';",
        'type X = { a: number };',
        'const x: X = { a: 1 };',
        '',
        "if (x.a) throw new Error('boom at import');",
        "export default dag({ id: 'throws' });",
      ].join('\n'),
      'cycle.ts': [
        "import { dag } from 'airclutch';",
        '',
        "const d = dag({ id: 'cycle' });",
        "d.task('a', { after: ['b'] }, () => 1);",
        "d.task('b', { after: ['a'] }, () => 1);",
        'export default d;',
      ].join('\n'),
    });
    const { dags, errors } = await loadDagFolder(fx.dir, { env: 'dev', cacheDir: cacheDir() });
    expect(dags.map((d) => [d.dag.id, d.env, d.file])).toEqual([['good', 'dev', join(fx.dir, 'good.ts')]]);
    expect(dags[0]!.version).toMatch(/^[0-9a-f]{16}$/);
    expect(await dags[0]!.dag.parseParams({})).toEqual({ n: 1 });
    expect(errors.map((e) => [e.file.slice(fx.dir.length + 1), e.line, e.message])).toEqual([
      ['cycle.ts', 3, 'DAG cycle is invalid: tasks form a cycle: a -> b -> a'],
      ['syntax.ts', 3, 'Expected "}" but found ")"'],
      ['throws.ts', 5, 'import failed: boom at import'],
    ]);
  });
});

describe('loadDagFolder on edge cases', () => {
  it('keeps the first file in path order when two files define one DAG id on a cold start, and names it in the other', async () => {
    fx = fixtureDir({ 'a.ts': dagSource('dup'), 'b.ts': dagSource('dup'), 'c.ts': dagSource('other') });
    const { dags, errors } = await loadDagFolder(fx.dir, { env: 'dev', cacheDir: cacheDir() });
    expect(dags.map((d) => [d.dag.id, d.file.slice(fx.dir.length + 1)])).toEqual([
      ['dup', 'a.ts'],
      ['other', 'c.ts'],
    ]);
    expect(errors.map((e) => [e.file.slice(fx.dir.length + 1), e.line, e.dagId, e.message])).toEqual([
      [
        'b.ts',
        3,
        'dup',
        'duplicate DAG id dup: already defined in a.ts, which stays loaded; give this DAG another id',
      ],
    ]);
  });

  it('keeps the file that holds a DAG id now when a file earlier in path order declares it too', async () => {
    fx = fixtureDir({ 'a.ts': dagSource('dup'), 'b.ts': dagSource('dup') });
    const holder = join(fx.dir, 'b.ts');
    const { dags, errors } = await loadDagFolder(fx.dir, {
      env: 'dev',
      cacheDir: cacheDir(),
      incumbent: (id) => (id === 'dup' ? holder : undefined),
    });
    expect(dags.map((d) => d.file)).toEqual([holder]);
    expect(errors.map((e) => [e.file.slice(fx.dir.length + 1), e.message])).toEqual([
      ['a.ts', 'duplicate DAG id dup: already defined in b.ts, which stays loaded; give this DAG another id'],
    ]);
  });

  it('reports an unknown dependency, an invalid cron and an unknown time zone at the dag() call', async () => {
    fx = fixtureDir({
      'bad.ts': [
        "import { dag } from 'airclutch';",
        "const d = dag({ id: 'bad', schedule: '61 * * * *', timezone: 'Mars/Olympus' });",
        "d.task('a', { after: ['ghost'] }, () => 1);",
        'export default d;',
      ].join('\n'),
    });
    const { dags, errors } = await loadDagFolder(fx.dir, { env: 'dev', cacheDir: cacheDir() });
    expect(dags).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: join(fx.dir, 'bad.ts'), line: 2, column: 11, dagId: 'bad' });
    expect(errors[0]!.message).toContain('task a depends on unknown task ghost');
    expect(errors[0]!.message).toContain('time zone Mars/Olympus is unknown');
    expect(errors[0]!.message).toContain('schedule "61 * * * *" is invalid');
  });

  it('refuses a DAG whose params come from zod 3, saying to take z from airclutch/zod, and loads the one that does', async () => {
    fx = fixtureDir({
      'old.ts': [
        "import { dag } from 'airclutch';",
        "import { z } from 'zod/v3';",
        "const d = dag({ id: 'old', params: z.object({ rows: z.number() }) });",
        "d.task('a', () => 1);",
        'export default d;',
      ].join('\n'),
      'new.ts': [
        "import { dag } from 'airclutch';",
        "import { z } from 'airclutch/zod';",
        "const d = dag({ id: 'new', params: z.object({ rows: z.number().default(5) }) });",
        "d.task('a', () => 1);",
        'export default d;',
      ].join('\n'),
    });
    const { dags, errors } = await loadDagFolder(fx.dir, { env: 'dev', cacheDir: cacheDir() });
    expect(dags.map((d) => d.dag.id)).toEqual(['new']);
    expect(await dags[0]!.dag.parseParams({})).toEqual({ rows: 5 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: join(fx.dir, 'old.ts'), line: 3, dagId: 'old' });
    expect(errors[0]!.message).toContain('params is a zod schema that cannot give its JSON Schema');
    expect(errors[0]!.message).toContain(
      "use zod 4.2 or later, as `import { z } from 'airclutch/zod'` gives",
    );
  });

  it('reports a duplicate task id thrown by the builder at the line of the second task', async () => {
    fx = fixtureDir({
      'twice.ts': [
        "import { dag } from 'airclutch';",
        "const d = dag({ id: 'twice' });",
        "d.task('a', () => 1);",
        "d.task('a', () => 2);",
        'export default d;',
      ].join('\n'),
    });
    const { errors } = await loadDagFolder(fx.dir, { env: 'dev', cacheDir: cacheDir() });
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [4, 'import failed: DAG twice: task id "a" is used twice'],
    ]);
  });

  it('names the helper module when the exception is thrown there', async () => {
    fx = fixtureDir({
      'uses.ts': dagSource('uses', 1, "import './lib/broken.ts';"),
      'lib/broken.ts': "export const a = 1;\nthrow new Error('helper broke');\n",
    });
    const { errors } = await loadDagFolder(fx.dir, { env: 'dev', cacheDir: cacheDir() });
    const uses = errors.find((e) => e.file.endsWith('uses.ts'))!;
    expect(uses.line).toBeNull();
    expect(uses.message).toBe('in lib/broken.ts:2:7: import failed: helper broke');
  });

  it('ignores helper modules, tests, node_modules and dot-folders', async () => {
    fx = fixtureDir({
      'only.ts': dagSource('only'),
      'helpers.ts': 'export const x = 1;\n',
      'only.test.ts': "throw new Error('tests are not DAG files');\n",
      'node_modules/pkg/index.ts': "throw new Error('not a DAG file');\n",
      '.hidden/x.ts': "throw new Error('not a DAG file');\n",
    });
    const { dags, errors } = await loadDagFolder(fx.dir, { env: 'dev', cacheDir: cacheDir() });
    expect(dags.map((d) => d.dag.id)).toEqual(['only']);
    expect(errors).toEqual([]);
  });

  it('reports a missing folder as an import error rather than throwing', async () => {
    fx = fixtureDir();
    const { errors } = await loadDagFolder(join(fx.dir, 'nope'), { env: 'dev', cacheDir: cacheDir() });
    expect(errors.map((e) => e.message)).toEqual([`DAG folder ${join(fx.dir, 'nope')} does not exist`]);
  });
});

describe('reloading', () => {
  it('picks up an edited DAG file and an edited helper module, and changes the version', async () => {
    fx = fixtureDir({
      'r.ts': [
        "import { dag } from 'airclutch';",
        "import { value } from './lib/value.ts';",
        "const d = dag({ id: 'r', description: 'v1' });",
        "d.task('a', () => value);",
        'export default d;',
      ].join('\n'),
      'lib/value.ts': 'export const value = 1;\n',
    });
    const opts = { env: 'dev', cacheDir: cacheDir() };
    const first = (await loadDagFolder(fx.dir, opts)).dags[0]!;
    fx.write({ 'lib/value.ts': 'export const value = 2;\n' });
    const second = (await loadDagFolder(fx.dir, opts)).dags[0]!;
    fx.write({ 'r.ts': dagSource('r', 3) });
    const third = (await loadDagFolder(fx.dir, opts)).dags[0]!;
    const run = (l: typeof first) => l.dag.tasks.get('a')!.fn!({} as never);
    expect([run(first), run(second), run(third)]).toEqual([1, 2, 3]);
    expect(new Set([first.version, second.version, third.version]).size).toBe(3);
  });

  it('keeps the version when nothing changed', async () => {
    fx = fixtureDir({ 'same.ts': dagSource('same') });
    const opts = { env: 'dev', cacheDir: cacheDir() };
    const a = (await loadDagFolder(fx.dir, opts)).dags[0]!;
    const b = (await loadDagFolder(fx.dir, opts)).dags[0]!;
    expect(a.version).toBe(b.version);
  });
});
