import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-index.ts';
import { buildProgram } from '../../src/cli/main.ts';

describe('the command index', () => {
  it('names each command and summarises it exactly as the command module does', async () => {
    for (const entry of COMMANDS) {
      const cmd = await entry.load();
      expect({ name: cmd.name(), summary: cmd.description() }).toEqual({
        name: entry.name,
        summary: entry.summary,
      });
    }
  });

  it('loads only the command an invocation names, after the global --config value', async () => {
    const program = await buildProgram(['node', 'airclutch', '-c', 'runs', 'trigger', 'nightly', '--wait']);
    const loaded = program.commands.filter((c) => c.options.length > 0).map((c) => c.name());
    expect(loaded).toEqual(['trigger']);
    const help = await buildProgram(['node', 'airclutch', '--help']);
    expect(help.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
    expect(help.commands.every((c) => c.options.length === 0 && c.commands.length === 0)).toBe(true);
  });
});
