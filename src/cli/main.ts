/** The `ziplora` command-line tool. Every failure ends in one line on stderr and an exit status, no stack. */
import { describeError } from '../core/safetensors/errors';
import { runCompare } from './compare';
import { runInspect } from './inspect';
import { runMergeCommand } from './merge';
import { runRecipe } from './recipe';
import { runReport } from './report';
import { MergeCancelledError } from '../worker/client';
import { EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, HELP, UsageError } from './usage';

const COMMANDS: Record<string, (args: string[], out: (text: string) => void) => Promise<void>> = {
  inspect: runInspect,
  compare: runCompare,
  merge: runMergeCommand,
  report: runReport,
  recipe: runRecipe,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const run = COMMANDS[command];
  try {
    if (!run) throw new UsageError(`unknown command "${command}"`);
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
    if (error instanceof MergeCancelledError) return EXIT_INTERRUPTED;
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
