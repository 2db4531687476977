/** The `ziplora` command-line tool. Every failure ends in one line on stderr and an exit status, no stack. */
import { describeError } from '../core/safetensors/errors';
import { EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, HELP, UsageError } from './usage';

type Command = (args: string[], out: (text: string) => void) => Promise<void>;

/**
 * Each command's module is required when the command runs: esbuild keeps the bundle one file but wraps a
 * required module in a function run on its first require, so `ziplora inspect` evaluates neither the merge, the
 * worker client nor the HTML report (most of the bundle's modules), and starts as fast on a large header.
 */
const COMMANDS: Record<string, () => Command> = {
  inspect: () => (require('./inspect') as typeof import('./inspect')).runInspect,
  compare: () => (require('./compare') as typeof import('./compare')).runCompare,
  merge: () => (require('./merge') as typeof import('./merge')).runMergeCommand,
  report: () => (require('./report') as typeof import('./report')).runReport,
  recipe: () => (require('./recipe') as typeof import('./recipe')).runRecipe,
};

/** A merge stopped by Ctrl-C (the worker client's MergeCancelledError), told by name so that main need not load the client. */
function isMergeCancel(error: unknown): boolean {
  return error instanceof Error && error.name === 'MergeCancelledError';
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const load = COMMANDS[command];
  try {
    if (!load) throw new UsageError(`unknown command "${command}"`);
    const run = load();
    await run(rest, (text) => process.stdout.write(`${text}\n`));
    return EXIT_OK;
  } catch (error) {
    // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes: those are usage errors too.
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (error instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`ziplora: ${(error as Error).message}\nRun \`ziplora --help\` for usage.\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`ziplora: ${describeError(error)}\n`);
    // A cancelled merge ends like any program stopped by Ctrl-C.
    if (isMergeCancel(error)) return EXIT_INTERRUPTED;
    if (process.env.ZIPLORA_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return EXIT_BAD_INPUT;
  }
}

if (require.main === module) {
  // Stop quietly when the reader of our output goes away (`ziplora inspect big | head`).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT_OK);
  });
  main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
