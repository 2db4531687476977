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
import { familyReadIn, PairingReport } from '../lora/pairing';
import { TransformerNaming } from '../lora/transformer-names';
import { outputDtype, tensorShapes, WritableDtype } from './merged-tensors';
import { fuseSplitCopies, transformerLayoutFor, WriteTarget, writeTargets } from './output-layout';
import { MergeRequest } from './request';
import { CopiedLayer, InputRole, LeftOutTensor, tensorNamesOf, WriterOutcome } from './unmerged-tensors';

/** One target of a layer with the names and shapes its tensors are written under. */
export interface PlannedTarget extends WriteTarget {
  readonly names: { readonly down: string; readonly up: string; readonly alpha?: string };
  readonly shape: { readonly down: readonly number[]; readonly up: readonly number[] };
}

/** One layer of the merged file: a merged pair (named after the content side) or a copied layer. */
export interface PlannedLayer {
  /** The canonical name of the layer written (the pair's, or the copied layer's own). */
  readonly module: string;
  /** The input layer whose shape and kind the written one has. */
  readonly layer: LoraLayer;
  /** The rank written: r_c + r_s for a merged pair (or the requested lower rank), a copied layer's own. */
  readonly rank: number;
  readonly dtype: WritableDtype;
  /** In file order; a fused module cut into its parts has one target per part. */
  readonly targets: readonly PlannedTarget[];
}

export interface PlannedCopy extends PlannedLayer {
  readonly from: InputRole;
}

export interface OutputPlan {
  readonly scheme: NamingScheme;
  /** The family whose module names the file uses: the one the pairing read the naming's file in. */
  readonly family: BaseModelFamily;
  /** The one transformer layout of the file (output-layout.ts), for a family with a naming table. */
  readonly layout: TransformerNaming | undefined;
  /** One per paired layer, in the pairing's order (the order of the file). */
  readonly merged: readonly PlannedLayer[];
  /** The copied layers written after the merged ones: the content file's, then the style file's. */
  readonly copied: readonly PlannedCopy[];
  /** Copied layers left out (they would land on a weight already written) and those written under other names. */
  readonly outcome: WriterOutcome;
}

/** The naming scheme of the output and the file it is taken from. */
function outputScheme(request: MergeRequest, content: OpenLora, style: OpenLora): { scheme: NamingScheme; source: OpenLora } {
  switch (request.naming) {
    case 'kohya':
    case 'diffusers':
      return { scheme: request.naming, source: content };
    case 'style':
      return { scheme: style.lora.scheme === 'kohya' ? 'kohya' : 'diffusers', source: style };
    default:
      return { scheme: content.lora.scheme === 'kohya' ? 'kohya' : 'diffusers', source: content };
  }
}

/** Builds the plan's layers, checking that two layers never land on one weight. */
class PlanBuilder {
  readonly merged: PlannedLayer[] = [];
  readonly copied: PlannedCopy[] = [];
  readonly leftOut: LeftOutTensor[] = [];
  readonly writtenAs: CopiedLayer[] = [];
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
    this.merged.push(this.planned(layer, module, rank));
  }

  addCopy(layer: LoraLayer, from: InputRole): void {
    const targets = writeTargets(layer, layer.module, this.layout, this.family);
    // Two unpaired layers on one weight meet in one layout (twins whose shapes did not let them pair): the first is
    // written, the other is left out and named, never written twice.
    const clash = targets.find((t) => this.written.has(t.module));
    if (clash) {
      const reason = `${layer.module} would be written as ${clash.module}, which already holds ${this.written.get(clash.module)}: the same weight, not paired with it`;
      for (const tensor of tensorNamesOf(layer)) this.leftOut.push({ file: from, tensor, reason });
      return;
    }
    // A layer fused from copied split parts is listed under each part's name.
    const modules = targets.map((t) => t.module);
    for (const module of layer.parts ? layer.parts.map((p) => p.layer.module) : [layer.module]) {
      if (modules.length !== 1 || modules[0] !== module) this.writtenAs.push({ file: from, module, writtenAs: modules });
    }
    this.copied.push({ ...this.planned(layer, layer.module, layer.rank, targets), from });
  }

  private planned(layer: LoraLayer, module: string, rank: number, targets = writeTargets(layer, module, this.layout, this.family)): PlannedLayer {
    const shape = tensorShapes(layer, rank);
    const planned = targets.map((target) => {
      this.written.set(target.module, module);
      const up = target.rows ? [target.rows.count, ...shape.up.slice(1)] : shape.up;
      return { ...target, names: layerTensorNames(target.module, this.scheme, this.family), shape: { down: shape.down, up } };
    });
    return { module, layer, rank, dtype: outputDtype(this.request, layer), targets: planned };
  }
}

/** The whole merged file's plan, from the pairing and the request alone (no tensor data is read). */
export function planOutput(request: MergeRequest, content: OpenLora, style: OpenLora, pairing: PairingReport): OutputPlan {
  const { scheme, source } = outputScheme(request, content, style);
  // Named in the family the pairing read it in (a diffusers file of only q/k/v/out layers: the other file's).
  const family = familyReadIn(source.lora.baseModel.family, (source === content ? style : content).lora.baseModel.family);
  const layout = transformerLayoutFor(scheme, family);
  const builder = new PlanBuilder(request, scheme, family, layout);
  for (const pair of pairing.paired) builder.addMerged(pair.first, pair.module, pair.first.rank + pair.second.rank);
  for (const layer of fuseSplitCopies(pairing.onlyInFirst, layout, family)) builder.addCopy(layer, 'content');
  for (const layer of fuseSplitCopies(pairing.onlyInSecond, layout, family)) builder.addCopy(layer, 'style');
  const { merged, copied, leftOut, writtenAs } = builder;
  return { scheme, family, layout, merged, copied, outcome: { leftOut, writtenAs } };
}
