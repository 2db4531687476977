/**
 * The merged file's plan, made once per merge before any layer is solved: the naming and layout the file is
 * written in, and for every layer, in file order, its targets (output-layout.ts: the modules it is written as,
 * the rows of up each holds), the tensors' names and shapes, rank and dtype. The compute threads cut each merged
 * up for the plan's targets and the writer writes the plan's tensors; neither works any of it out again.
 */
import { LoraLayer } from '../lora/layer';
import { layerTensorNames, NamingScheme } from '../lora/naming';
import { OpenLora } from '../lora/open-lora';
import { BaseModelFamily } from '../lora/families';
import { familyReadIn } from '../lora/pairing';
import { TransformerNaming } from '../lora/transformer-names';
import { outputDtype, tensorShapes, WritableDtype } from './merged-tensors';
import { fuseSplitCopies, transformerLayoutFor, WriteTarget, writeTargets } from './output-layout';
import { MergeRequest } from './request';
import { LeftOutTensor, tensorNamesOf, WriterOutcome } from './unmerged-tensors';
import { WeightedGroups } from './weighted-groups';

/** One target of a layer with the names and shapes its tensors are written under. */
export interface PlannedTarget extends WriteTarget {
  readonly names: { readonly down: string; readonly up: string; readonly alpha?: string };
  readonly shape: { readonly down: readonly number[]; readonly up: readonly number[] };
}

/** One layer of the merged file: a merged group (named after its first input's layer) or a copied layer. */
export interface PlannedLayer {
  /** The canonical name of the layer written (the group's, or the copied layer's own). */
  readonly module: string;
  /** The input layer whose shape and kind the written one has. */
  readonly layer: LoraLayer;
  /**
   * The rank written: Σ r_i for a merged layer (or the requested lower rank), a copied layer's own. With
   * `--rank-energy` the most it can be: the compute thread picks the rank, the header is written last.
   */
  readonly rank: number;
  /** Σ r_i: the rank of the exact merge, for the summary's size of the exact output. */
  readonly exactRank: number;
  /** Set when the rank written is only known once the layer is merged (`--rank-energy`). */
  readonly rankFromData?: boolean;
  readonly dtype: WritableDtype;
  /** In file order; a fused module cut into its parts has one target per part. */
  readonly targets: readonly PlannedTarget[];
}

export interface PlannedCopy extends PlannedLayer {
  /** 0-based index of the input copied from. */
  readonly from: number;
  /** Its effective weight there, folded into the copy. */
  readonly weight: number;
}

export interface OutputPlan {
  readonly scheme: NamingScheme;
  /** The family whose module names the file uses: the one the grouping read the naming's file in. */
  readonly family: BaseModelFamily;
  /** The one transformer layout of the file (output-layout.ts), for a family with a naming table. */
  readonly layout: TransformerNaming | undefined;
  /** One per merged group, in the groups' order (the order of the file). */
  readonly merged: readonly PlannedLayer[];
  /** The copied layers written after the merged ones: input 1's, then input 2's, … */
  readonly copied: readonly PlannedCopy[];
  /** Copied layers left out (they would land on a weight already written) and those written under other names. */
  readonly outcome: WriterOutcome;
}

/** The naming scheme of the output and the index of the input it is taken from. */
function outputScheme(request: MergeRequest, inputs: readonly OpenLora[]): { scheme: NamingScheme; source: number } {
  const ownScheme = (source: number) => ({ scheme: (inputs[source].lora.scheme === 'kohya' ? 'kohya' : 'diffusers') as NamingScheme, source });
  switch (request.naming) {
    case 'kohya':
    case 'diffusers':
      return { scheme: request.naming, source: 0 };
    case 'style':
      return ownScheme(1);
    default:
      return ownScheme(0);
  }
}

/** Builds the plan's layers, checking that two layers never land on one weight. */
class PlanBuilder {
  readonly merged: PlannedLayer[] = [];
  readonly copied: PlannedCopy[] = [];
  readonly leftOut: LeftOutTensor[] = [];
  readonly writtenAs: { input: number; module: string; writtenAs: string[] }[] = [];
  /** Target module → the module written there. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly request: MergeRequest,
    private readonly scheme: NamingScheme,
    private readonly family: BaseModelFamily,
    private readonly layout: TransformerNaming | undefined,
  ) {}

  addMerged(layer: LoraLayer, module: string, fullRank: number): void {
    const rank = this.request.rank !== undefined ? Math.min(this.request.rank, fullRank) : fullRank;
    const planned = this.planned(layer, module, rank, fullRank);
    this.merged.push(this.request.rankEnergy !== undefined ? { ...planned, rankFromData: true } : planned);
  }

  addCopy(layer: LoraLayer, from: number, weight: number): void {
    const targets = writeTargets(layer, layer.module, this.layout, this.family);
    // Two unpaired layers on one weight meet in one layout (twins whose shapes did not let them pair): the first is
    // written, the other is left out and named, never written twice.
    const clash = targets.find((t) => this.written.has(t.module));
    if (clash) {
      const reason = `${layer.module} would be written as ${clash.module}, which already holds ${this.written.get(clash.module)}: the same weight, not paired with it`;
      for (const tensor of tensorNamesOf(layer)) this.leftOut.push({ input: from, tensor, reason });
      return;
    }
    // A layer fused from copied split parts is listed under each part's name.
    const modules = targets.map((t) => t.module);
    for (const module of layer.parts ? layer.parts.map((p) => p.layer.module) : [layer.module]) {
      if (modules.length !== 1 || modules[0] !== module) this.writtenAs.push({ input: from, module, writtenAs: modules });
    }
    this.copied.push({ ...this.planned(layer, layer.module, layer.rank, layer.rank, targets), from, weight });
  }

  private planned(layer: LoraLayer, module: string, rank: number, exactRank: number, targets = writeTargets(layer, module, this.layout, this.family)): PlannedLayer {
    const shape = tensorShapes(layer, rank);
    const planned = targets.map((target) => {
      this.written.set(target.module, module);
      const up = target.rows ? [target.rows.count, ...shape.up.slice(1)] : shape.up;
      return { ...target, names: layerTensorNames(target.module, this.scheme, this.family), shape: { down: shape.down, up } };
    });
    return { module, layer, rank, exactRank, dtype: outputDtype(this.request, layer), targets: planned };
  }
}

/** The whole merged file's plan, from the groups alone (no tensor data is read). */
export function planOutput(request: MergeRequest, inputs: readonly OpenLora[], groups: WeightedGroups): OutputPlan {
  const { scheme, source } = outputScheme(request, inputs);
  // Named in the family the grouping read it in (a diffusers file of only q/k/v/out layers: another input's).
  const other = inputs.find((input, i) => i !== source && input.lora.baseModel.family !== 'unknown') ?? inputs[source === 0 ? 1 : 0];
  const family = familyReadIn(inputs[source].lora.baseModel, other.lora.baseModel);
  const layout = transformerLayoutFor(scheme, family);
  const builder = new PlanBuilder(request, scheme, family, layout);
  for (const group of groups.merged) builder.addMerged(group.members[0].layer, group.module, group.members.reduce((sum, m) => sum + m.layer.rank, 0));
  // Copies by input and weight (a fused module's split parts are in one block, so they share one weight).
  const runs: { input: number; weight: number; layers: LoraLayer[] }[] = [];
  for (const copy of groups.copied) {
    const last = runs[runs.length - 1];
    if (last && last.input === copy.member.input && last.weight === copy.weight) last.layers.push(copy.member.layer);
    else runs.push({ input: copy.member.input, weight: copy.weight, layers: [copy.member.layer] });
  }
  for (const run of runs) for (const layer of fuseSplitCopies(run.layers, layout, family)) builder.addCopy(layer, run.input, run.weight);
  const { merged, copied, leftOut, writtenAs } = builder;
  return { scheme, family, layout, merged, copied, outcome: { leftOut, writtenAs } };
}
