// Turns argv into a command and its options, or one line saying what is wrong with them. Options are
// checked against the command that uses them, so `wspass validate --workers 2` and `wspass run --confg x`
// are caught with a "did you mean", instead of being ignored or ending in a stack trace.
import { parseArgs } from 'node:util';
import { closestName } from '../config/suggest.js';
import { COMMANDS, commandHelp, globalHelp, isCommand, LOG_LEVELS, OPTIONS, type CommandName, type OptionName } from './commands.js';

export type OptionValues = Partial<Record<Exclude<OptionName, 'help' | 'version' | 'fix'>, string>> & { fix?: boolean };

export type ParsedCommandLine =
  | { readonly kind: 'help'; readonly text: string; readonly code: 0 | 2 }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string }
  | { readonly kind: 'command'; readonly command: CommandName; readonly values: OptionValues; readonly argument?: string };

const GLOBAL: readonly OptionName[] = ['help', 'version'];

function didYouMean(word: string, candidates: readonly string[], render: (s: string) => string): string {
  const near = closestName(word, candidates);
  return near === undefined ? '' : `; did you mean ${render(near)}?`;
}

export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  // A lenient pass finds the command and every option name as written, known or not.
  const { tokens } = parseArgs({ args: [...argv], options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const positionals = tokens.filter((tk) => tk.kind === 'positional').map((tk) => tk.value);
  const first = positionals[0];
  const options = tokens.filter((tk) => tk.kind === 'option');
  const wantsHelp = options.some((tk) => tk.name === 'help');

  if (first === undefined || first === 'help') {
    const topic = positionals[1];
    if (topic !== undefined && isCommand(topic)) return { kind: 'help', text: commandHelp(topic), code: 0 };
    if (options.some((tk) => tk.name === 'version')) return { kind: 'version' };
    if (first === 'help' || wantsHelp) return { kind: 'help', text: globalHelp(), code: 0 };
  }
  if (first === undefined) {
    const stray = options.find((tk) => !GLOBAL.includes(tk.name as OptionName));
    if (stray !== undefined) return { kind: 'usage-error', message: `${stray.rawName} needs a command first (wspass COMMAND ${stray.rawName} ...); see wspass --help` };
    return { kind: 'help', text: globalHelp(), code: 2 };
  }
  if (!isCommand(first)) {
    const commands = [...Object.keys(COMMANDS), 'help'];
    return { kind: 'usage-error', message: `unknown command "${first}"${didYouMean(first, commands, (s) => `"${s}"`)} (see wspass --help)` };
  }
  if (wantsHelp) return { kind: 'help', text: commandHelp(first), code: 0 };

  const allowed: readonly OptionName[] = COMMANDS[first].options;
  for (const tk of options) {
    if (allowed.includes(tk.name as OptionName)) continue;
    const known = Object.hasOwn(OPTIONS, tk.name);
    const hint = didYouMean(tk.name, allowed, (s) => `--${s}`);
    const what = known ? `${first} does not take ${tk.rawName}` : `unknown option ${tk.rawName}`;
    return { kind: 'usage-error', message: `${what}${hint} (see wspass ${first} --help)` };
  }
  let values: OptionValues;
  try {
    const strictOptions = Object.fromEntries(allowed.map((name) => [name, OPTIONS[name]]));
    values = parseArgs({ args: [...argv], options: strictOptions, strict: true, allowPositionals: true }).values;
  } catch (err) {
    // parseArgs's own sentences ("Option '--config <value>' argument missing"), on one line.
    return { kind: 'usage-error', message: `${(err as Error).message.split('\n')[0]!} (see wspass ${first} --help)` };
  }
  const spec = COMMANDS[first] as { readonly argument?: string };
  const wanted = spec.argument === undefined ? 0 : 1;
  if (positionals.length > 1 + wanted) {
    return { kind: 'usage-error', message: `${first} takes no argument "${positionals[1 + wanted]!}" (see wspass ${first} --help)` };
  }
  if (wanted === 1 && positionals[1] === undefined) {
    return { kind: 'usage-error', message: `${first} needs ${spec.argument!} (see wspass ${first} --help)` };
  }
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    const hint = didYouMean(level, LOG_LEVELS, (s) => `"${s}"`);
    return { kind: 'usage-error', message: `--log-level "${level}" is not a level${hint} (one of ${LOG_LEVELS.join(', ')})` };
  }
  return { kind: 'command', command: first, values, ...(wanted === 1 && { argument: positionals[1]! }) };
}
