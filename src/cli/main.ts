// `decnet` entry point: reads the static command table, loads only the command that runs. A worker
// started standalone (`decnet <worker>`) is found in the worker registry without reading the table.
import type { CommandGroup, CommandSpec } from './commands.ts';
import { parseArgs, suggest, type OptionSpec } from './args.ts';
import { findWorkerCommand } from './worker-command.ts';
import { DecnetError, errorMessage } from '../core/errors.ts';

declare const DECNET_VERSION: string | undefined;
const VERSION = typeof DECNET_VERSION === 'string' ? DECNET_VERSION : '0.0.0-dev';

// Read on first use: touching process.stdout creates its stream, which a worker never needs.
let ttyOut: boolean | undefined;
const tty = () => (ttyOut ??= process.stdout.isTTY === true && !process.env.NO_COLOR);
const bold = (s: string) => (tty() ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty() ? `\x1b[2m${s}\x1b[0m` : s);

type CommandTable = typeof import('./commands.ts');
const loadTable = (): Promise<CommandTable> => import('./commands.ts');

function mainHelp({ COMMANDS, GROUP_TITLES }: CommandTable): string {
  const lines = [`${bold('decnet')} ${VERSION}: a honeypot deception network`, '', `Usage: decnet <command> [options]`, ''];
  const visible = COMMANDS.filter((c) => !c.hidden);
  const width = Math.max(...visible.map((c) => c.name.length)) + 2;
  for (const group of Object.keys(GROUP_TITLES) as CommandGroup[]) {
    const members = visible.filter((c) => c.group === group);
    if (members.length === 0) continue;
    lines.push(bold(GROUP_TITLES[group]));
    for (const c of members) lines.push(`  ${c.name.padEnd(width)}${c.summary}`);
    lines.push('');
  }
  lines.push(dim('Run `decnet <command> --help` for its options. Environment: DECNET_DATA_DIR, DECNET_RUN_DIR, DECNET_BUS_URL, DECNET_DB_URL.'));
  return lines.join('\n') + '\n';
}

function optionLabel(o: OptionSpec): string {
  const names = `${o.short ? `-${o.short}, ` : '    '}--${o.name}`;
  return o.type === 'boolean' ? names : `${names} ${o.value ?? o.type.toUpperCase()}`;
}

function commandHelp(c: CommandSpec): string {
  const args = (c.args ?? []).map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}${a.rest ? '…' : ''}]`)).join(' ');
  const lines = [`Usage: decnet ${c.name}${args ? ' ' + args : ''}${c.options.length ? ' [options]' : ''}`, '', c.summary, ''];
  if (c.args?.length) {
    lines.push(bold('Arguments'));
    const w = Math.max(...c.args.map((a) => a.name.length)) + 2;
    for (const a of c.args) lines.push(`  ${a.name.toUpperCase().padEnd(w)}${a.summary}`);
    lines.push('');
  }
  const options: OptionSpec[] = [...c.options, { name: 'help', short: 'h', type: 'boolean', summary: 'show this help' }];
  lines.push(bold('Options'));
  const w = Math.max(...options.map((o) => optionLabel(o).length)) + 2;
  for (const o of options) {
    const extra = o.default !== undefined && o.type !== 'boolean' ? dim(` (default: ${o.default})`) : '';
    lines.push(`  ${optionLabel(o).padEnd(w)}${o.summary}${extra}`);
  }
  return lines.join('\n') + '\n';
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp(await loadTable()));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`decnet ${VERSION}\n`);
    return 0;
  }
  const command = findWorkerCommand(name) ?? (await loadTable()).findCommand(name);
  if (!command) {
    const { COMMANDS } = await loadTable();
    const hint = suggest(name, COMMANDS.filter((c) => !c.hidden).map((c) => c.name));
    process.stderr.write(`decnet: unknown command ${JSON.stringify(name)}${hint ? ` (did you mean ${hint}?)` : ''}\nRun \`decnet --help\` for the list of commands.\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const parsed = parseArgs(rest, command.options, command.args ?? [], `decnet ${command.name}`);
  const run = await command.load();
  return (await run(parsed)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof DecnetError) {
      process.stderr.write(`decnet: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`decnet: ${err instanceof Error ? (err.stack ?? err.message) : errorMessage(err)}\n`);
      process.exitCode = 1;
    }
  },
);
