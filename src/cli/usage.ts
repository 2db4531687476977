/**
 * What the command line accepts and how `ziplora --help` describes it. The option tables below are the ones the
 * commands parse with, so a flag cannot be accepted without being listed here; the synopsis in HELP names every
 * one of them (checked by test/pure/cli-synopsis.test.ts, which also checks the README's copy of the synopsis).
 */
import type { ParseArgsConfig } from 'node:util';

/** Wrong usage of the command line: exit status 2 with the message and a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 1;
export const EXIT_USAGE = 2;
/** 128 + SIGINT, as shells report a program stopped by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

type CommandOptions = NonNullable<ParseArgsConfig['options']>;

/** Every command's flags, as `node:util` parseArgs reads them (values are parsed and checked by the command). */
export const CLI_OPTIONS = {
  inspect: { json: { type: 'boolean' }, stats: { type: 'boolean' }, tensor: { type: 'string' } },
  compare: { json: { type: 'boolean' } },
  merge: {
    output: { type: 'string', short: 'o' },
    method: { type: 'string' },
    solver: { type: 'string' },
    steps: { type: 'string' },
    lambda: { type: 'string' },
    lr: { type: 'string' },
    columns: { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    rank: { type: 'string' },
    dtype: { type: 'string' },
    naming: { type: 'string' },
    'content-weight': { type: 'string' },
    'style-weight': { type: 'string' },
    report: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  report: { output: { type: 'string', short: 'o' }, force: { type: 'boolean' } },
} as const satisfies Record<string, CommandOptions>;

export type CommandName = keyof typeof CLI_OPTIONS;

/** The synopsis: one entry per command, every flag named. The README's "Command line" block is a copy of it. */
export const SYNOPSIS = `ziplora inspect FILE [--json] [--stats] [--tensor NAME]
ziplora compare A B [C …] [--json]
ziplora merge CONTENT STYLE -o OUT.safetensors [--method ziplora|direct] [--solver newton|adam]
              [--steps N] [--lambda X] [--lr X] [--columns input|output] [--backend B] [--threads N]
              [--rank K] [--dtype D] [--naming N] [--content-weight X] [--style-weight X]
              [--report REPORT.html] [--force] [--json]
ziplora report SIDECAR -o REPORT.html [--force]
ziplora --help`;

const indented = (text: string) => text.split('\n').map((line) => `  ${line}`).join('\n');

export const HELP = `ziplora — inspect safetensors files and merge LoRAs with ZipLoRA

Usage:
${indented(SYNOPSIS)}

Commands:
  inspect   Show the header, metadata and tensors of a .safetensors file or of a
            sharded checkpoint (*.safetensors.index.json).
            --json         print one JSON object instead of tables
            --stats        compute value statistics of every tensor (streams the data)
            --tensor NAME  show only this tensor (with its statistics and histogram)
            For a LoRA it also shows the format, a guess at the base model and,
            per layer: kind, shape, rank, alpha, scale, ‖ΔW‖ and effective rank.
            Any other file is described by what it looks like (checkpoint,
            embedding, LoKr…).
  compare   Pair the layers of two LoRAs by module (across kohya, diffusers/PEFT,
            old diffusers and MLX naming) and show, per paired layer, the mean
            |cosine| between the columns of ΔW_A and ΔW_B. With 3 to 8 files:
            every pair's mean |cos| per block and per layer. Files that are not
            B·A LoRAs, or LoRAs for different base models, are bad input.
            --json         print one JSON object instead of tables
  merge     Merge a subject (content) LoRA with a style LoRA. Writes the merged
            LoRA (rank r_c + r_s, loadable like any LoRA) and a sidecar
            OUT.ziplora.safetensors with the coefficients and a per-layer report.
            -o, --output OUT.safetensors   where to write the merged LoRA
            --method ziplora|direct   learned per-column coefficients (default) or
                                      the plain weighted sum
            --solver newton|adam      projected Newton-CG, stopping when the projected
                                      gradient falls to 1e-4 of its start or after
                                      100 gradient-equivalents or 50 iterations per
                                      layer (default); or Adam, the paper's recipe
            --steps N                 Adam steps per layer (default 100; --solver adam)
            --lambda X                weight of the overlap penalty (default 0.03)
            --lr X                    Adam learning rate (default 0.01; --solver adam)
            --columns input|output    what a coefficient scales (default input)
            --backend B               auto, tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu
            --threads N               compute threads on the CPU backends (default 0:
                                      one per core, at most 16)
            --rank K                  reduce merged layers to rank K (truncated SVD)
            --dtype D                 auto (the inputs'), F16, BF16 or F32
            --naming N                content (default), style, kohya or diffusers
            --content-weight X, --style-weight X   weights of the direct merge (1, 1)
            --report REPORT.html      also write the standalone HTML report
            --force                   replace an existing output
            --json                    print the summary as JSON
            Ctrl-C cancels and leaves no output behind.
  report    Write a standalone HTML report (the editor's charts and the data,
            in one file that opens in any browser) of a merge's sidecar
            OUT.ziplora.safetensors, or of the merged LoRA beside it.
            -o, --output REPORT.html  where to write the report (.html)
            --force                   replace an existing report

Exit status: 0 success, 1 bad input (the message names the file and the problem), 2 wrong usage,
130 merge cancelled (Ctrl-C).
`;
