/**
 * `airclutch completion bash|zsh`: a completion script for commands, subcommands and options, made
 * from the commands themselves (so it never drifts). Install with
 * `airclutch completion bash > /etc/bash_completion.d/airclutch` or, for zsh,
 * `airclutch completion zsh > "${fpath[1]}/_airclutch"`.
 * @module
 */
import { Command } from 'commander';
import { AirclutchError } from '../../lib/errors.ts';
import { COMMANDS } from '../command-index.ts';

interface Words {
  top: string[];
  /** `cmd` → its subcommands. */
  subs: Map<string, string[]>;
  /** `cmd` or `cmd sub` → its options. */
  options: Map<string, string[]>;
}

const GLOBAL = ['-c', '--config', '-s', '--server', '-V', '--version', '-h', '--help'];

async function words(): Promise<Words> {
  const w: Words = { top: ['help'], subs: new Map(), options: new Map() };
  const optionsOf = (c: Command) => [
    ...c.options.flatMap((o) => [o.short, o.long].filter((x): x is string => !!x)),
    '--help',
  ];
  for (const entry of COMMANDS) {
    w.top.push(entry.name);
    const cmd = await entry.load();
    w.options.set(entry.name, optionsOf(cmd));
    if (cmd.commands.length) {
      w.subs.set(
        entry.name,
        cmd.commands.map((s) => s.name()),
      );
      for (const s of cmd.commands) w.options.set(`${entry.name} ${s.name()}`, optionsOf(s));
    }
  }
  return w;
}

function bashFunction(w: Words): string {
  const subCases = [...w.subs].map(([c, subs]) => `    ${c}) subs="${subs.join(' ')}" ;;`).join('\n');
  const optCases = [...w.options].map(([k, opts]) => `    "${k}") opts="${opts.join(' ')}" ;;`).join('\n');
  return `_airclutch() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="" sub="" subs="" opts="" i word
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$word" in
      -c|--config|-s|--server) ((i++)) ;;
      -*) ;;
      *) if [[ -z "$cmd" ]]; then cmd="$word"; elif [[ -z "$sub" ]]; then sub="$word"; fi ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "${w.top.join(' ')} ${GLOBAL.join(' ')}" -- "$cur"))
    return
  fi
  case "$cmd" in
${subCases}
  esac
  if [[ -n "$subs" && -z "$sub" && "$cur" != -* ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return
  fi
  case "$cmd\${sub:+ $sub}" in
${optCases}
  esac
  if [[ "$cmd" == completion ]]; then opts="bash zsh"; fi
  COMPREPLY=($(compgen -W "$opts ${GLOBAL.join(' ')}" -- "$cur"))
}
`;
}

/** The completion script for `shell`. */
export async function completionScript(shell: string): Promise<string> {
  if (shell !== 'bash' && shell !== 'zsh') {
    throw new AirclutchError('REQUEST_INVALID', `no completion for shell ${shell}: use bash or zsh`);
  }
  const fn = bashFunction(await words());
  if (shell === 'bash') return `# airclutch completion for bash\n${fn}complete -F _airclutch airclutch\n`;
  return `#compdef airclutch\n# airclutch completion for zsh (through bashcompinit)\nautoload -U +X bashcompinit && bashcompinit\n${fn}complete -F _airclutch airclutch\n`;
}

export function completionCommand(): Command {
  return new Command('completion')
    .description('Print a shell completion script: airclutch completion bash|zsh')
    .argument('<shell>', 'bash or zsh')
    .action(async (shell: string) => {
      process.stdout.write(await completionScript(shell));
    });
}
