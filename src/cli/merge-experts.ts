/**
 * `ziplora merge --experts A_high A_low B_high B_low -o OUT.safetensors`: LoRAs for a model made of experts (Wan 2.2
 * A14B) come in pairs of files, one per expert; the inputs are sorted by the expert each names (metadata or file
 * name, core/lora/families/wan-variant.ts) and merged one expert at a time, into OUT-high_noise.safetensors and
 * OUT-low_noise.safetensors. Each merge is the plain merge of that expert's files, with the same options.
 */
import path from 'node:path';
import { expertOutputPath, inputsByExpert } from '../core/merge/experts';
import { MergeRequest } from '../core/merge/request';
import { openLora } from '../core/lora/open-lora';
import { UsageError } from './usage';

export interface ExpertMerge {
  readonly expert: string;
  readonly request: MergeRequest;
}

/** The options `--experts` cannot split between its merges, refused in one line each. */
export function expertsOptionProblem(request: MergeRequest, report: string | undefined): string | undefined {
  if (request.allowMixedExperts) return '--experts merges each expert apart; --allow-mixed-experts is for one merge of several experts: give one of them';
  if (report !== undefined) return '--experts writes two merges; --report writes one report: run `ziplora report` on each sidecar instead';
  if (request.blocks.some((rule) => rule.weights)) return '--experts splits the inputs between two merges, so block rules with per-input weights do not fit them: give --weights, or block rules without weights';
  if (request.naming === 'style') return '--naming style names the second of two inputs, which --experts does not know before sorting them: use first, kohya or diffusers';
  return undefined;
}

/** One request per expert, from the inputs each LoRA names (read from their headers). */
export async function expertMerges(request: MergeRequest): Promise<ExpertMerge[]> {
  const guesses = [];
  for (const input of request.inputs) {
    const lora = await openLora(input.path);
    await lora.file.close();
    guesses.push({ name: path.basename(input.path), baseModel: lora.lora.baseModel });
  }
  const sorted = inputsByExpert(guesses);
  if ('problem' in sorted) throw new UsageError(sorted.problem);
  const { recipe: _recipe, ...options } = request;
  return [...sorted.groups].map(([expert, members]) => ({
    expert,
    request: { ...options, inputs: members.map((i) => request.inputs[i]), output: expertOutputPath(request.output, expert) },
  }));
}
