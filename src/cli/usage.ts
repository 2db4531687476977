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
    'rank-energy': { type: 'string' },
    dtype: { type: 'string' },
    naming: { type: 'string' },
    weights: { type: 'string' },
    block: { type: 'string', multiple: true },
    'content-weight': { type: 'string' },
    'style-weight': { type: 'string' },
    recipe: { type: 'string' },
    report: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    experts: { type: 'boolean' },
    'allow-mixed-experts': { type: 'boolean' },
  },
  report: { output: { type: 'string', short: 'o' }, force: { type: 'boolean' } },
  recipe: {},
} as const satisfies Record<string, CommandOptions>;

export type CommandName = keyof typeof CLI_OPTIONS;

/** The synopsis: one entry per command, every flag named. The README's "Command line" block is a copy of it. */
export const SYNOPSIS = `ziplora inspect FILE [--json] [--stats] [--tensor NAME]
ziplora compare A B [C …] [--json]
ziplora merge A B [C …] -o OUT.safetensors [--weights W1,W2,…] [--block SPEC]… [--method ziplora|direct]
              [--solver newton|adam] [--steps N] [--lambda X|auto] [--lr X] [--columns input|output]
              [--backend B] [--threads N] [--rank K] [--rank-energy E] [--dtype D] [--naming N]
              [--content-weight X] [--style-weight X] [--recipe NAME.ziplora.json]
              [--report REPORT.html] [--force] [--json] [--experts] [--allow-mixed-experts]
ziplora report SIDECAR -o REPORT.html [--force]
ziplora recipe MERGED.safetensors
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
  merge     Merge 2 to 8 LoRAs into one: for two, a subject (content) LoRA A
            with a style LoRA B. Writes the merged LoRA (rank Σ r_i, loadable
            like any LoRA) and a sidecar OUT.ziplora.safetensors with the
            coefficients and a per-layer report. A layer only some inputs have
            is merged among those; a layer only one has is copied.
            -o, --output OUT.safetensors   where to write the merged LoRA
            --weights W1,W2,…         each input's strength, 0 to 4 (default 1 each):
                                      scales its ΔW before the merge
            --block SPEC              per-block weights or method, repeatable, later
                                      rules win: BLOCK=W1,W2,… (one weight per input;
                                      0 leaves the input out there), BLOCK:zip|direct|skip,
                                      or BLOCK:direct=W1,W2,…; BLOCK is a block name the
                                      charts show (unet.mid_block), a prefix of names
                                      (unet.up_blocks) or an index range
                                      (transformer.single_transformer_blocks.0-19)
            --method ziplora|direct   learned per-column coefficients (default) or
                                      the plain weighted sum
            --solver newton|adam      projected Newton-CG, stopping when a certificate
                                      proves the layer within 2 % of its optimum, when
                                      the projected gradient falls to 1e-4 of its start,
                                      or after 100 gradient-equivalents or 50 iterations
                                      per layer (default); or Adam, the paper's recipe
            --steps N                 Adam steps per layer (default 100; --solver adam)
            --lambda X|auto           weight of the overlap penalty (default 0.03); auto:
                                      per layer the largest λ of a short path whose
                                      error stays close to λ = 0's (the path is printed)
            --lr X                    Adam learning rate (default 0.01; --solver adam)
            --columns input|output    what a coefficient scales (default input)
            --backend B               auto, tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu
            --threads N               compute threads on the CPU backends (default 0:
                                      one per core, at most 16)
            --rank K                  reduce merged layers to rank K (truncated SVD)
            --rank-energy E           per layer the smallest rank keeping E (0 < E ≤ 1,
                                      e.g. 0.99) of ‖ΔW‖² (truncated SVD; with --rank,
                                      at most K)
            --dtype D                 auto (the inputs'), F16, BF16 or F32
            --naming N                first (default: input 1's), kohya or diffusers;
                                      for two inputs also content (= first) or style
            --content-weight X, --style-weight X   two inputs' strengths (= --weights X,Y)
            --recipe NAME.ziplora.json   run a recipe (docs/recipes.md): its inputs and
                                      options; files and options given beside it
                                      override it
            --report REPORT.html      also write the standalone HTML report
            --force                   replace an existing output
            --json                    print the summary as JSON
            --experts                 for LoRAs of a model made of experts (Wan 2.2
                                      A14B): sort the inputs by the expert each names
                                      (metadata or file name: high_noise / low_noise)
                                      and merge each expert's apart, into
                                      OUT-high_noise.safetensors and OUT-low_noise…
            --allow-mixed-experts     merge LoRAs for different experts anyway
                                      (refused otherwise)
            Ctrl-C cancels and leaves no output behind.
  report    Write a standalone HTML report (the editor's charts and the data,
            in one file that opens in any browser) of a merge's sidecar
            OUT.ziplora.safetensors, or of the merged LoRA beside it.
            -o, --output REPORT.html  where to write the report (.html)
            --force                   replace an existing report
  recipe    Print the recipe (NAME.ziplora.json, see docs/recipes.md) that
            re-creates a merge, read from the merged LoRA's metadata or from its
            sidecar. Save it beside the inputs and run \`ziplora merge --recipe\`.

Exit status: 0 success, 1 bad input (the message names the file and the problem), 2 wrong usage,
130 merge cancelled (Ctrl-C).
`;
