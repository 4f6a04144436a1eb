/**
 * `airclutch completion bash|zsh`: a completion script for commands, subcommands and options, made
 * from the commands themselves (so it never drifts). Install with
 * `airclutch completion bash > /etc/bash_completion.d/airclutch`; for zsh, either
 * `airclutch completion zsh > "${fpath[1]}/_airclutch"` or `source <(airclutch completion zsh)` after
 * `compinit`. The zsh script is native (`_describe`, so commands show their summaries), and works
 * on the first TAB both ways.
 * @module
 */
import { Command } from 'commander';
import { AirclutchError } from '../../lib/errors.ts';
import { COMMANDS } from '../command-index.ts';

interface Words {
  top: string[];
  /** Command → its summary. */
  summaries: Map<string, string>;
  /** `cmd` → its subcommands with their summaries. */
  subs: Map<string, Array<{ name: string; summary: string }>>;
  /** `cmd` or `cmd sub` → its options. */
  options: Map<string, string[]>;
}

const GLOBAL = ['-c', '--config', '-s', '--server', '-V', '--version', '-h', '--help'];

async function words(): Promise<Words> {
  const w: Words = {
    top: ['help'],
    summaries: new Map([['help', 'Show help for a command']]),
    subs: new Map(),
    options: new Map(),
  };
  // The global options are offered everywhere already (--help among them).
  const optionsOf = (c: Command) =>
    c.options.flatMap((o) => [o.short, o.long].filter((x): x is string => !!x && !GLOBAL.includes(x)));
  for (const entry of COMMANDS) {
    w.top.push(entry.name);
    w.summaries.set(entry.name, entry.summary);
    const cmd = await entry.load();
    w.options.set(entry.name, optionsOf(cmd));
    if (cmd.commands.length) {
      w.subs.set(
        entry.name,
        cmd.commands.map((s) => ({ name: s.name(), summary: s.description() })),
      );
      for (const s of cmd.commands) w.options.set(`${entry.name} ${s.name()}`, optionsOf(s));
    }
  }
  return w;
}

function bashFunction(w: Words): string {
  const subCases = [...w.subs]
    .map(([c, subs]) => `    ${c}) subs="${subs.map((x) => x.name).join(' ')}" ;;`)
    .join('\n');
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
  if [[ -n "$sub" && " $subs " != *" $sub "* ]]; then sub=""; fi
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

/** A zsh single-quoted word. */
function zq(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** `name:summary` items for `_describe` (a colon in the name would have to be escaped; none has one). */
function describeItems(items: Array<{ name: string; summary: string }>): string {
  return items.map((i) => zq(`${i.name}:${i.summary.replace(/\s+/g, ' ')}`)).join(' ');
}

function zshFunction(w: Words): string {
  const top = w.top.map((name) => ({ name, summary: w.summaries.get(name) ?? '' }));
  const subCases = [...w.subs].map(([c, subs]) => `    ${c}) subs=(${describeItems(subs)}) ;;`).join('\n');
  const optCases = [...w.options].map(([k, opts]) => `    ${zq(k)}) opts=(${opts.join(' ')}) ;;`).join('\n');
  return `_airclutch() {
  local cmd="" sub="" word
  local -a subs opts
  integer i
  for ((i = 2; i < CURRENT; i++)); do
    word=\${words[i]}
    case $word in
      -c|--config|-s|--server) ((i++)) ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=$word; elif [[ -z $sub ]]; then sub=$word; fi ;;
    esac
  done
  if [[ -z $cmd ]]; then
    if [[ $PREFIX == -* ]]; then
      compadd -- ${GLOBAL.join(' ')}
    else
      local -a cmds
      cmds=(${describeItems(top)})
      _describe -t commands 'airclutch command' cmds
    fi
    return
  fi
  case $cmd in
${subCases}
  esac
  # A word after a command without that subcommand is an argument (a DAG id), not a subcommand.
  [[ -n $sub && -z \${(M)subs:#\${(b)sub}:*} ]] && sub=""
  if (( \${#subs} )) && [[ -z $sub && $PREFIX != -* ]]; then
    _describe -t subcommands "airclutch $cmd subcommand" subs
    return
  fi
  if [[ $cmd == completion && -z $sub && $PREFIX != -* ]]; then
    compadd -- bash zsh
    return
  fi
  case "$cmd\${sub:+ $sub}" in
${optCases}
  esac
  compadd -- $opts ${GLOBAL.join(' ')}
}
`;
}

/** The completion script for \`shell\`. */
export async function completionScript(shell: string): Promise<string> {
  if (shell !== 'bash' && shell !== 'zsh') {
    throw new AirclutchError('REQUEST_INVALID', `no completion for shell ${shell}: use bash or zsh`);
  }
  const w = await words();
  if (shell === 'bash')
    return `# airclutch completion for bash\n${bashFunction(w)}complete -F _airclutch airclutch\n`;
  // Autoloaded from $fpath, the file is _airclutch's body: it defines the function and completes at
  // once. Sourced (after compinit), it registers the function instead.
  return `#compdef airclutch\n# airclutch completion for zsh\n${zshFunction(w)}if [[ \${funcstack[1]} == _airclutch ]]; then\n  _airclutch "$@"\nelse\n  compdef _airclutch airclutch\nfi\n`;
}

export function completionCommand(): Command {
  return new Command('completion')
    .description('Print a shell completion script: airclutch completion bash|zsh')
    .argument('<shell>', 'bash or zsh')
    .action(async (shell: string) => {
      process.stdout.write(await completionScript(shell));
    });
}
