/** Wrong usage of the command line: exit status 2 with the message and a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 1;
export const EXIT_USAGE = 2;

export const HELP = `ziplora — inspect safetensors files and merge LoRAs with ZipLoRA

Usage:
  ziplora inspect FILE [--json] [--stats] [--tensor NAME]

Commands:
  inspect   Show the header, metadata and tensors of a .safetensors file or of a
            sharded checkpoint (*.safetensors.index.json).
            --json         print one JSON object instead of tables
            --stats        compute value statistics of every tensor (streams the data)
            --tensor NAME  show only this tensor (with its statistics and histogram)

Exit status: 0 success, 1 bad input (the message names the file and the problem), 2 wrong usage.
`;
