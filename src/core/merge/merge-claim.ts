/** A merge's claim on the files it writes (output-claim.ts): the merged LoRA and its sidecar, named for a person. */
import path from 'node:path';
import { claimOutputs, OutputClaim } from '../output-claim';
import { MergeRequest, sidecarPathFor } from './request';

/** How a running merge is named in another merge's refusal. */
export function describeMerge(request: Pick<MergeRequest, 'method' | 'inputs' | 'output'>): string {
  return `a ${request.method} merge of ${request.inputs.map((input) => path.basename(input.path)).join(' + ')} into ${path.basename(request.output)}`;
}

/** The files a merge claims: what it writes. */
export function claimedFiles(request: Pick<MergeRequest, 'output'>): string[] {
  return [request.output, sidecarPathFor(request.output)];
}

/** Claims the output and its sidecar, or throws OutputClaimedError naming the merge that holds them. */
export function claimMergeOutput(request: MergeRequest): OutputClaim {
  return claimOutputs(claimedFiles(request), describeMerge(request));
}
