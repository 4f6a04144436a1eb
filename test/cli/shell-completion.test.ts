/**
 * The completion scripts in the shells themselves: the zsh one typed into a real interactive
 * `zsh -f` with compinit (through zsh/zpty, pressing a key bound to complete-word), the bash one
 * sourced into a real bash and called as bash's completion would call it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../../bin/airclutch.js');
const ZSH_HARNESS = resolve(import.meta.dirname, 'shell/zsh-complete.zsh');

const has = (shell: string) => spawnSync(shell, ['-c', 'exit 0'], { stdio: 'ignore' }).status === 0;
const HAS_ZSH = has('zsh');
const HAS_BASH = has('bash');

let dir: string;

/** Runs `airclutch completion <shell>` as a user would, and keeps the script where each shell finds it. */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airclutch-completion-'));
  for (const [shell, file] of [
    ['zsh', '_airclutch'],
    ['bash', 'airclutch.bash'],
  ] as const) {
    const out = await run(process.execPath, [BIN, 'completion', shell]);
    expect(out.code).toBe(0);
    writeFileSync(join(dir, file), out.stdout);
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

let typed = 0;
/** Types `line` and presses TAB in zsh: the candidates offered and the line completion left. */
async function zshTab(line: string, how: 'fpath' | 'source' = 'fpath') {
  const out = join(dir, `zsh-${++typed}.out`);
  const res = await run('zsh', ['-f', ZSH_HARNESS, dir, out, line, how]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  return {
    matches: lines.filter((l) => l.startsWith('match:')).map((l) => l.slice('match:'.length)),
    buffer: lines.find((l) => l.startsWith('buffer:'))?.slice('buffer:'.length),
  };
}

describe.skipIf(!HAS_ZSH)(
  `zsh completion${HAS_ZSH ? '' : ' (skipped: zsh is not installed here; apt-get install zsh)'}`,
  { timeout: 120_000 },
  () => {
    it('completes a command on the first TAB when installed on $fpath as _airclutch', async () => {
      expect(await zshTab('airclutch tr')).toEqual({ matches: ['trigger'], buffer: 'airclutch trigger ' });
    });

    it('completes a command when sourced after compinit', async () => {
      expect(await zshTab('airclutch appr', 'source')).toEqual({
        matches: ['approvals'],
        buffer: 'airclutch approvals ',
      });
    });

    it('offers every subcommand of a command', async () => {
      const { matches, buffer } = await zshTab('airclutch runs ');
      expect(matches).toEqual(['list', 'show', 'logs', 'cancel']);
      expect(buffer).toBe('airclutch runs ');
    });

    it("completes a subcommand's options, past global options and their values", async () => {
      expect(await zshTab('airclutch -c x.yaml approvals list --js')).toEqual({
        matches: ['--json'],
        buffer: 'airclutch -c x.yaml approvals list --json ',
      });
    });

    it("completes a command's options after a positional argument (a DAG id is not a subcommand)", async () => {
      const { matches } = await zshTab('airclutch trigger nightly --p');
      expect(matches).toEqual(['--param', '--params-file']);
    });

    it('offers the shells after completion, and global options at the top', async () => {
      expect((await zshTab('airclutch completion ')).matches).toEqual(['bash', 'zsh']);
      expect(await zshTab('airclutch --ser')).toEqual({
        matches: ['--server'],
        buffer: 'airclutch --server ',
      });
    });
  },
);

describe.skipIf(!HAS_BASH)(
  `bash completion${HAS_BASH ? '' : ' (skipped: bash is not installed here)'}`,
  { timeout: 120_000 },
  () => {
    /** Sources the script into bash and calls what `complete -p airclutch` registered, with the words set. */
    async function bashTab(words: string[]) {
      const file = join(dir, 'airclutch.bash');
      const script = [
        `source ${file}`,
        // The function bash would call on TAB, read back from the registration itself.
        `spec=$(complete -p airclutch); fn=\${spec##*-F }; fn=\${fn%% *}`,
        `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
        `COMP_CWORD=${words.length - 1}`,
        `COMP_LINE="\${COMP_WORDS[*]}"; COMP_POINT=\${#COMP_LINE}`,
        `"$fn" airclutch "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"`,
        `printf "%s\\n" "\${COMPREPLY[@]}"`,
      ].join('\n');
      const res = await run('bash', ['--norc', '--noprofile', '-c', script]);
      expect(res.stderr).toBe('');
      return res.stdout.split('\n').filter(Boolean);
    }

    it('registers itself for airclutch and completes commands, subcommands and options', async () => {
      expect(await bashTab(['airclutch', 'tr'])).toEqual(['trigger']);
      expect(await bashTab(['airclutch', 'runs', ''])).toEqual(['list', 'show', 'logs', 'cancel']);
      expect(await bashTab(['airclutch', '-c', 'x.yaml', 'approvals', 'list', '--js'])).toEqual(['--json']);
      expect(await bashTab(['airclutch', 'trigger', 'nightly', '--p'])).toEqual(['--param', '--params-file']);
    });
  },
);
