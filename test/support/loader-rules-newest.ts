/**
 * What ComfyUI and diffusers accept for the newest image families (Flux.2 [dev], Chroma, HiDream-I1), as predicates over a
 * file's tensor names and shapes, beside loader-rules.ts (whose helpers they use). Each rule is written from the source
 * named (facts, not code):
 *   ComfyUI  comfyanonymous/ComfyUI comfy/lora.py model_lora_keys_unet (the stored version with the HiDream branch): every
 *            model `lora_unet_` + its own module path with `_` and `diffusion_model.` + the path; HiDream also
 *            `transformer.` + the path and `lycoris_` + it with `_`; Chroma is a subclass of Flux (comfy/model_base.py
 *            `class Chroma(Flux)`), so its Flux branch also maps `transformer.` / `lycoris_` / `lora_transformer_` and the
 *            bare path of Flux.1's diffusers names (flux_to_diffusers). Chroma's own names: comfy/ldm/chroma/model.py
 *            @04e411c3, layers.py @0323d874. Flux.2's own names are the BFL ones that diffusers' converter reads and that
 *            the ComfyUI-format exporter copied in SimpleTuner (`_convert_diffusers_flux2_lora_to_comfyui`) writes under
 *            `diffusion_model.`. Which diffusers names ComfyUI maps for Flux.2 is not in the sources read: none are counted.
 *   diffusers Flux2LoraLoaderMixin.lora_state_dict (read from a copy of diffusers' pipeline_flux2.py / lora_pipeline.py):
 *            a file with any `diffusion_model.` key goes through _convert_non_diffusers_flux2_lora_to_diffusers (read from
 *            a copy of that function: it pops lora_A / lora_B of every module of all 8 double and 48 single blocks and
 *            refuses any key left; not encoded here, as the merge writes no such file); `lora_unet_` files go through
 *            _convert_kohya_flux2_lora_to_diffusers, whose source is not stored (not encoded); other files are PEFT as they are.
 *            HiDreamImageLoraLoaderMixin (a stored copy): any `diffusion_model` key → _convert_non_diffusers_hidream_lora_to_diffusers
 *            (source not stored: not encoded), else PEFT. Chroma's diffusers loader is not encoded (no stored
 *            huggingface/diffusers version of it).
 */
import { FLUX_MODULES, factorProblems, flat, layoutTargets, Loader, modulesOf, Shape, SUFFIX, WrittenTensor } from './loader-rules';

export type NewestFamily = 'flux2' | 'chroma' | 'hidream';

export const NEWEST_LOADERS_OF: Record<NewestFamily, readonly Loader[]> = {
  flux2: ['ComfyUI', 'diffusers'],
  chroma: ['ComfyUI'],
  hidream: ['ComfyUI', 'diffusers'],
};

/** Each family's modules in its own (native) names and in diffusers' names, path → [out, in]. */
function targets(family: NewestFamily): { native: Map<string, Shape>; diffusers: Map<string, Shape> } {
  if (family === 'flux2') return { native: layoutTargets('flux2-dev-transformer.layout.json'), diffusers: layoutTargets('flux2-dev-diffusers-transformer.layout.json') };
  if (family === 'chroma') return { native: layoutTargets('chroma-transformer.layout.json'), diffusers: layoutTargets('chroma-diffusers-transformer.layout.json') };
  const hidream = layoutTargets('hidream-i1-transformer.layout.json');
  return { native: hidream, diffusers: hidream };
}

/** Flux.1 diffusers names whose BFL weight Chroma lacks (per-block modulation, time / vector / guidance, final norm). */
const FLUX1_MODULATION = /(^|\.)(norm1|norm1_context|norm)\.linear$|^time_text_embed\.|^norm_out\.linear$/;

/** The key names ComfyUI maps to a module of the family (see the header). */
function comfyTarget(module: string, family: NewestFamily): Shape | undefined {
  const { native } = targets(family);
  for (const [p, shape] of native) {
    const forms = [`lora_unet_${flat(p)}`, `diffusion_model.${p}`, ...(family === 'hidream' ? [`transformer.${p}`, `lycoris_${flat(p)}`] : [])];
    if (forms.includes(module)) return shape;
  }
  if (family !== 'chroma') return undefined;
  for (const [d, shape] of FLUX_MODULES.diffusers) {
    if (FLUX1_MODULATION.test(d)) continue;
    if ([`transformer.${d}`, `lycoris_${flat(d)}`, `lora_transformer_${flat(d)}`, d].includes(module)) return shape;
  }
  return undefined;
}

function comfy(tensors: readonly WrittenTensor[], family: NewestFamily): string[] {
  const { modules, problems } = modulesOf(tensors, SUFFIX.comfy, 'ComfyUI');
  for (const [module, parts] of modules) {
    const target = comfyTarget(module, family);
    if (!target) problems.push(`${module}: no ${family} weight of that name in ComfyUI's key map ("lora key not loaded")`);
    problems.push(...factorProblems(module, parts, target, 'optional'));
  }
  return problems;
}

/** load_lora_weights: every key must contain "lora"; only `transformer.` + a module of the diffusers model is loaded. */
function diffusersPeft(tensors: readonly WrittenTensor[], family: NewestFamily): string[] {
  const strays = tensors.filter((t) => !t.name.includes('lora'));
  if (strays.length) return strays.map((t) => `${t.name}: no "lora" in the name, so load_lora_weights refuses the file ("Invalid LoRA checkpoint")`);
  const { modules, problems } = modulesOf(tensors, SUFFIX.peft, 'diffusers');
  const { diffusers } = targets(family);
  for (const [module, parts] of modules) {
    const target = module.startsWith('transformer.') ? diffusers.get(module.slice('transformer.'.length)) : undefined;
    if (!target) problems.push(`${module}: not loaded (only transformer.<diffusers module> keys are)`);
    problems.push(...factorProblems(module, parts, target, 'absent'));
  }
  return problems;
}

function diffusers(tensors: readonly WrittenTensor[], family: NewestFamily): string[] {
  const names = tensors.map((t) => t.name);
  // The merge writes no diffusion_model. file (an ai-toolkit content is written in diffusers naming): not encoded.
  if (family === 'flux2' && names.some((n) => n.startsWith('diffusion_model.'))) return ['diffusion_model.* Flux.2 files: _convert_non_diffusers_flux2_lora_to_diffusers is not encoded here'];
  if (family === 'flux2' && names.some((n) => n.includes('.lora_down.weight'))) return ['lora_down / lora_unet_ Flux.2 files: _convert_kohya_flux2_lora_to_diffusers is not in the sources read (not encoded)'];
  if (family === 'hidream' && names.some((n) => n.includes('diffusion_model'))) return ['diffusion_model HiDream files: _convert_non_diffusers_hidream_lora_to_diffusers is not in the sources read (not encoded)'];
  return diffusersPeft(tensors, family);
}

/** The problems `loader` has with a file of `family` ([] = it loads every tensor). */
export function newestLoaderProblems(loader: Loader, family: NewestFamily, tensors: readonly WrittenTensor[]): string[] {
  if (!NEWEST_LOADERS_OF[family].includes(loader)) throw new Error(`no ${loader} rule for ${family} yet`);
  return loader === 'ComfyUI' ? comfy(tensors, family) : diffusers(tensors, family);
}
