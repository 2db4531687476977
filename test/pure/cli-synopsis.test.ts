/**
 * The README's command-line synopsis is the one `ziplora --help` prints, and both name every flag the commands
 * parse (the option tables in src/cli/usage.ts are what the parsers read).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseMergeArgs } from '../../src/cli/merge';
import { CLI_OPTIONS, CommandName, HELP, SYNOPSIS } from '../../src/cli/usage';

const root = path.resolve(__dirname, '../..');
const commands = Object.keys(CLI_OPTIONS) as CommandName[];

/** The README's fenced block whose first line starts the synopsis (`ziplora inspect`). */
function readmeSynopsis(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1].replace(/\n$/, ''));
  const synopsis = blocks.find((block) => block.startsWith('ziplora inspect'));
  assert.ok(synopsis, 'README.md has no fenced block starting with "ziplora inspect" (the CLI synopsis)');
  return synopsis;
}

/** The lines of a synopsis that describe one command: its `ziplora CMD` line and the continuation lines after it. */
function entryOf(synopsis: string, command: string): string {
  const lines = synopsis.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`ziplora ${command} `));
  assert.notEqual(start, -1, `the synopsis has no "ziplora ${command}" line`);
  const end = lines.findIndex((line, i) => i > start && line.startsWith('ziplora '));
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

/** `--name` and `-x` spellings of every flag a command parses. */
function spellings(command: CommandName): string[] {
  return Object.entries(CLI_OPTIONS[command]).flatMap(([name, option]) => [`--${name}`, ...('short' in option ? [`-${option.short}`] : [])]);
}

/** The flags a synopsis entry names (`--x` or `-x` after a space or a bracket). */
function flagsNamed(entry: string): string[] {
  return [...entry.matchAll(/(?<=[\s[])(--?[a-z][a-z-]*)/g)].map((m) => m[1]);
}

/** `--output` is spelled `-o` in the synopsis: a flag counts as named by either of its spellings. */
function missingFlags(entry: string, command: CommandName): string[] {
  const named = new Set(flagsNamed(entry));
  return Object.entries(CLI_OPTIONS[command])
    .filter(([name, option]) => !named.has(`--${name}`) && !('short' in option && named.has(`-${option.short}`)))
    .map(([name]) => `--${name}`);
}

test('the README synopsis is the synopsis `ziplora --help` prints', () => {
  const help = HELP.split('\n');
  const usage = help.slice(help.indexOf('Usage:') + 1, help.indexOf('', help.indexOf('Usage:'))).map((line) => line.replace(/^ {2}/, ''));
  assert.equal(usage.join('\n'), SYNOPSIS, 'HELP prints SYNOPSIS under "Usage:"');
  assert.equal(readmeSynopsis(), SYNOPSIS, 'the README synopsis differs from `ziplora --help`: copy SYNOPSIS from src/cli/usage.ts');
});

test('every flag a command parses is named in its synopsis entry, in the README and in --help', () => {
  for (const [where, synopsis] of [['README.md', readmeSynopsis()], ['ziplora --help', SYNOPSIS]] as const) {
    for (const command of commands) {
      assert.deepEqual(missingFlags(entryOf(synopsis, command), command), [], `${where}: flags of "${command}" missing from its synopsis`);
    }
  }
});

test('the synopsis names no flag that its command does not parse', () => {
  for (const command of commands) {
    const unknown = flagsNamed(entryOf(SYNOPSIS, command)).filter((flag) => !spellings(command).includes(flag));
    assert.deepEqual(unknown, [], `flags of "${command}" in the synopsis that it does not parse`);
  }
});

test('--help describes every long flag under its command', () => {
  const described = HELP.slice(HELP.indexOf('Commands:'));
  for (const command of commands) {
    const start = described.indexOf(`\n  ${command} `);
    assert.notEqual(start, -1, `--help has no "${command}" section`);
    const next = commands.map((c) => described.indexOf(`\n  ${c} `)).filter((i) => i > start);
    const section = described.slice(start, next.length ? Math.min(...next) : described.indexOf('\nExit status'));
    for (const [name] of Object.entries(CLI_OPTIONS[command])) {
      assert.match(section, new RegExp(`--${name}\\b`), `--help does not describe ${command} --${name}`);
    }
  }
});

test('the merge parser accepts every flag of its table and refuses any other', () => {
  const values: Record<string, string> = { output: 'o.safetensors', method: 'direct', solver: 'adam', steps: '5', lambda: '0.1', lr: '0.02', columns: 'output', backend: 'cpu', threads: '1', rank: '4', 'rank-energy': '0.99', dtype: 'F32', naming: 'kohya', weights: '1,0.5', block: 'unet.mid_block:direct', 'content-weight': '1', 'style-weight': '0.5', report: 'r.html' };
  // Adam's flags apply only with --solver adam (merge-options' table); each is given with what it needs.
  const context: Record<string, string[]> = { steps: ['--solver', 'adam'], lr: ['--solver', 'adam'] };
  for (const [name, option] of Object.entries(CLI_OPTIONS.merge)) {
    // --recipe reads a file: readMergeArgs' (test/process/cli-merge.test.ts runs it).
    if (name === 'recipe') continue;
    const args = ['c.safetensors', 's.safetensors', ...(name === 'output' ? [] : ['-o', 'o.safetensors']), ...(context[name] ?? []), `--${name}`, ...(option.type === 'string' ? [values[name]] : [])];
    assert.doesNotThrow(() => parseMergeArgs(args), `merge refused --${name}`);
  }
  assert.throws(() => parseMergeArgs(['c.safetensors', 's.safetensors', '-o', 'o.safetensors', '--not-a-flag']), (error: NodeJS.ErrnoException) => error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION');
});
