/**
 * Shell completion scripts for `aerogramme-local completion bash|zsh|fish`, made from commander's
 * own description of the program (commands, subcommands, options, choices), so they never drift
 * from what the command line accepts. The setting names complete after `config get|set|unset`.
 */
import type { Command } from "commander";

interface Node {
  /** "config set", "" for the program itself. */
  path: string;
  words: string[];
  description: string;
  options: { flags: string[]; description: string; choices: readonly string[] }[];
}

function walk(command: Command, prefix: string[], out: Node[]): void {
  const path = prefix.join(" ");
  const options = command.options.map((o) => ({
    flags: [o.long, o.short].filter((f): f is string => Boolean(f)),
    description: o.description,
    choices: o.argChoices ?? [],
  }));
  out.push({
    path,
    words: command.commands.map((c) => c.name()),
    description: command.description(),
    options: [...options, { flags: ["--help"], description: "show help", choices: [] }],
  });
  for (const sub of command.commands) walk(sub, [...prefix, sub.name()], out);
}

function tree(program: Command): Node[] {
  const out: Node[] = [];
  walk(program, [], out);
  return out;
}

function shellWord(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

export function bashCompletion(program: Command, settingKeys: readonly string[]): string {
  const name = program.name();
  const cases = tree(program).map((node) => {
    const extra = /^config (get|set|unset)$/.test(node.path) ? settingKeys : [];
    const words = [...node.words, ...extra, ...node.options.flatMap((o) => o.flags)].join(" ");
    return `    ${shellWord(node.path)}) words=${shellWord(words)} ;;`;
  });
  const choices = tree(program).flatMap((node) =>
    node.options
      .filter((o) => o.choices.length > 0)
      .flatMap((o) =>
        o.flags.map(
          (f) => `    ${shellWord(`${node.path} ${f}`)}) choices=${shellWord(o.choices.join(" "))} ;;`,
        ),
      ),
  );
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, "_")}`;
  return `# bash completion for ${name}: add \`source <(${name} completion bash)\` to ~/.bashrc
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} path="" words="" choices="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    # Only command names move down the tree: options and their values do not.
    [[ -n $(${fn}_known "\${path:+$path }\${COMP_WORDS[i]}") ]] && path="\${path:+$path }\${COMP_WORDS[i]}"
  done
  choices=$(${fn}_choices "$path $prev")
  if [[ -n $choices ]]; then COMPREPLY=($(compgen -W "$choices" -- "$cur")); return; fi
  words=$(${fn}_words "$path")
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
${fn}_words() {
  local words=""
  case $1 in
${cases.join("\n")}
  esac
  printf '%s' "$words"
}
${fn}_known() {
  case $1 in
${tree(program)
  .map((n) => `    ${shellWord(n.path)}) printf yes ;;`)
  .join("\n")}
  esac
}
${fn}_choices() {
  local choices=""
  case $1 in
${choices.join("\n")}
  esac
  printf '%s' "$choices"
}
complete -F ${fn} ${name}
`;
}

export function zshCompletion(program: Command, settingKeys: readonly string[]): string {
  // zsh runs bash completion functions through bashcompinit: one logic for both shells.
  return `# zsh completion for ${program.name()}: add \`source <(${program.name()} completion zsh)\` to ~/.zshrc
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program, settingKeys)}`;
}

export function fishCompletion(program: Command, settingKeys: readonly string[]): string {
  const name = program.name();
  const lines = [
    `# fish completion for ${name}: \`${name} completion fish > ~/.config/fish/completions/${name}.fish\``,
  ];
  for (const node of tree(program)) {
    const parts = node.path ? node.path.split(" ") : [];
    // Fish's own helpers: at the top level no command yet; below, the path was typed.
    const condition =
      parts.length === 0
        ? "__fish_use_subcommand"
        : parts.map((p) => `__fish_seen_subcommand_from ${p}`).join("; and ");
    const sub = node.path ? program.commands.find((c) => c.name() === parts[0]) : program;
    for (const word of node.words) {
      const child = (parts.length === 0 ? program : sub)?.commands.find((c) => c.name() === word);
      const inner =
        parts.length === 0
          ? condition
          : `${condition}; and not __fish_seen_subcommand_from ${node.words.join(" ")}`;
      lines.push(
        `complete -c ${name} -n ${shellWord(inner)} -a ${word} -d ${shellWord(child?.description() ?? "")}`,
      );
    }
    if (/^config (get|set|unset)$/.test(node.path))
      lines.push(`complete -c ${name} -n ${shellWord(condition)} -a ${shellWord(settingKeys.join(" "))}`);
    for (const option of node.options) {
      const long = option.flags.find((f) => f.startsWith("--"));
      if (!long) continue;
      const values = option.choices.length > 0 ? ` -r -a ${shellWord(option.choices.join(" "))}` : "";
      lines.push(
        `complete -c ${name} -n ${shellWord(condition)} -l ${long.slice(2)}${values} -d ${shellWord(option.description)}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
