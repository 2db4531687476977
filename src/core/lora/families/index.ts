/**
 * The family registry: every model family's spec. Naming, recognition, pairing and the output layout loop over
 * this list; a new family is a new spec file and one entry here.
 */
import { CHROMA } from './chroma';
import { FLUX } from './flux';
import { FLUX2 } from './flux2';
import { HIDREAM } from './hidream';
import { HUNYUAN_VIDEO } from './hunyuan-video';
import { LLM } from './llm';
import { LTX_VIDEO } from './ltx-video';
import { LTX2 } from './ltx2';
import { LUMINA2 } from './lumina2';
import { QWEN_IMAGE } from './qwen-image';
import { SD3 } from './sd3';
import { SD1, SD2, SDXL } from './stable-diffusion';
import { FamilySpec, TransformerNames } from './types';
import { WAN } from './wan';
import { Z_IMAGE } from './z-image';

export const FAMILY_SPECS = [SD1, SD2, SDXL, FLUX, SD3, QWEN_IMAGE, WAN, HUNYUAN_VIDEO, LTX_VIDEO, LTX2, LUMINA2, Z_IMAGE, FLUX2, CHROMA, HIDREAM, LLM] as const;

/** A family's id, or `unknown` where the evidence fits none (or several). */
export type BaseModelFamily = (typeof FAMILY_SPECS)[number]['id'] | 'unknown';

export function specOf(family: BaseModelFamily): FamilySpec | undefined {
  return FAMILY_SPECS.find((spec) => spec.id === family);
}

/** The naming table of a family whose diffusers and native names differ, or undefined. */
export function namesOfFamily(family: BaseModelFamily): TransformerNames | undefined {
  return specOf(family)?.names;
}

/** Every family's naming table, in registry order. */
export const TRANSFORMER_NAMES: readonly TransformerNames[] = FAMILY_SPECS.flatMap((spec) => (spec.names ? [spec.names] : []));

/** Whether any family's pattern of this kind matches the path. */
export function anyFamilyPath(kind: 'nativePaths' | 'diffusersPaths' | 'unetPrefixedDiffusersPaths' | 'transformerPaths', path: string): boolean {
  return FAMILY_SPECS.some((spec) => spec[kind]?.test(path) === true);
}

export type { BarePathRule, BlockNames, ChartStage, FactorNaming, FamilyAdapter, FamilySpec, FamilyVariant, FileEvidence, FileLook, TransformerLayerInfo, TransformerNames, VariantFacts, Verdict } from './types';
