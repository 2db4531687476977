/**
 * The diffusion-transformer families whose naming facts are known. Qwen-Image and LTX-Video have none: their
 * LoRAs use the diffusers module names in every trainer (musubi-tuner, ai-toolkit, diffusers), so they pair as is.
 */
import { FLUX_NAMES } from './flux';
import { HUNYUAN_VIDEO_NAMES } from './hunyuan-video';
import { LUMINA2_NAMES, Z_IMAGE_NAMES } from './lumina';
import { SD3_NAMES } from './sd3';
import { BaseModelFamily, TransformerFamilyNames } from './types';
import { WAN_NAMES } from './wan';

export const TRANSFORMER_FAMILY_NAMES: readonly TransformerFamilyNames[] = [FLUX_NAMES, SD3_NAMES, WAN_NAMES, HUNYUAN_VIDEO_NAMES, LUMINA2_NAMES, Z_IMAGE_NAMES];

/** Families whose own module names are the diffusers ones (no naming table): kohya-style trainers write them under `lora_unet_`. */
export const DIFFUSERS_NAMED_FAMILIES: readonly BaseModelFamily[] = ['qwen-image', 'ltx-video'];

export function namesOfFamily(family: BaseModelFamily): TransformerFamilyNames | undefined {
  return TRANSFORMER_FAMILY_NAMES.find((names) => names.family === family);
}

export type { BaseModelFamily, BlockNames, TransformerFamilyNames } from './types';
