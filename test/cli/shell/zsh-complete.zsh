# Types a command line into a real interactive zsh (in a pseudo-terminal, through zsh/zpty) with
# compinit and the completion file under test on $fpath, presses a key bound to complete-word,
# and writes what completion offered and the line it left:
#   zsh -f zsh-complete.zsh <dir with _airclutch> <out file> <command line> [fpath|source]
# `fpath` (the default) installs the file as an autoloaded function; `source` sources it after compinit.
# Each candidate the completion system adds is one `match:` line; the last line is `buffer:<line>`.
zmodload zsh/zpty || { print -u2 'zsh/zpty is missing'; exit 3 }
fpath_dir=$1 out=$2 line=$3 how=${4:-fpath}
: >| $out

setup=${out}.setup.zsh
if [[ $how == source ]]; then
  install_fpath='' install_source="source ${(q)fpath_dir}/_airclutch"
else
  install_fpath="fpath=(${(q)fpath_dir} \$fpath)" install_source=''
fi
cat >| $setup <<SETUP
PROMPT='' RPROMPT=''
unsetopt autolist listbeep beep
$install_fpath
autoload -Uz compinit && compinit -u -D
$install_source
# Records every candidate offered, then adds it as asked.
compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "\$@"; return; fi
  local -a __hits
  builtin compadd -A __hits "\$@"
  (( \$#__hits )) && print -rl -- \${__hits/#/match:} >> ${(q)out}
  builtin compadd "\$@"
}
_complete_and_report() {
  zle complete-word
  print -r -- "buffer:\$BUFFER" >> ${(q)out}
}
zle -N _complete_and_report
bindkey '^T' _complete_and_report
SETUP

zpty z zsh -f -i
zpty -w z "source ${(q)setup}"
zpty -w -n z "${line}"$'\x14'

# Waits (bounded) for the widget's report, draining the terminal so the shell never blocks on it.
integer waited=0
while ! grep -q '^buffer:' $out 2>/dev/null; do
  zpty -r -t z junk 2>/dev/null
  (( waited++ > 1200 )) && { print -u2 "no completion report after 60 s; typed: $line"; zpty -d z; exit 4 }
  sleep 0.05
done
zpty -d z
rm -f $setup
