/**
 * The Stable Diffusion UNet under its two names: the original LDM/SGM layout (`input_blocks.4.1.…`, which kohya
 * writes for some families) and diffusers' (`down_blocks.1.attentions.0.…`). Every such UNet has two layers
 * per block, so the numbering rule is shared: input block n ≥ 1 is layer (n−1) mod 3 of down block ⌊(n−1)/3⌋
 * (layer 2 is the downsampler); output block n is layer n mod 3 of up block ⌊n/3⌋. Sub-module 0 is the
 * resnet, 1 the attention (or the upsampler where the block has no attention), 2 the upsampler.
 * Checked against diffusers' `convert_sd_to_diffusers` / `lora_conversion_utils.py`.
 */

const RESNET_LDM_TO_DIFFUSERS: Record<string, string> = {
  'in_layers.2': 'conv1',
  'out_layers.3': 'conv2',
  'emb_layers.1': 'time_emb_proj',
  skip_connection: 'conv_shortcut',
};
const RESNET_DIFFUSERS_TO_LDM = Object.fromEntries(Object.entries(RESNET_LDM_TO_DIFFUSERS).map(([k, v]) => [v, k]));

const TOP_LEVEL_LDM_TO_DIFFUSERS: Record<string, string> = {
  'input_blocks.0.0': 'conv_in',
  'time_embed.0': 'time_embedding.linear_1',
  'time_embed.2': 'time_embedding.linear_2',
  'label_emb.0.0': 'add_embedding.linear_1',
  'label_emb.0.2': 'add_embedding.linear_2',
  'out.2': 'conv_out',
};
const TOP_LEVEL_DIFFUSERS_TO_LDM = Object.fromEntries(Object.entries(TOP_LEVEL_LDM_TO_DIFFUSERS).map(([k, v]) => [v, k]));

function mapResnetInner(rest: string, table: Record<string, string>): string {
  for (const [from, to] of Object.entries(table)) {
    if (rest === from) return to;
    if (rest.startsWith(`${from}.`)) return `${to}${rest.slice(from.length)}`;
  }
  return rest;
}

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('.');
}

/** Whether a dotted UNet path uses the LDM/SGM layout. */
export function isLdmUnetPath(path: string): boolean {
  return /^(input_blocks|middle_block|output_blocks|time_embed|label_emb|out)\./.test(path);
}

/** LDM/SGM UNet path → diffusers UNet path; a path that is not LDM comes back unchanged. */
export function ldmToDiffusersUnet(path: string): string {
  for (const [from, to] of Object.entries(TOP_LEVEL_LDM_TO_DIFFUSERS)) {
    if (path === from || path.startsWith(`${from}.`)) return `${to}${path.slice(from.length)}`;
  }
  let m = /^input_blocks\.(\d+)\.(\d+)(?:\.(.*))?$/.exec(path);
  if (m) {
    const n = Number(m[1]);
    const sub = Number(m[2]);
    const rest = m[3] ?? '';
    const block = Math.floor((n - 1) / 3);
    const layer = (n - 1) % 3;
    if (layer === 2) return join(`down_blocks.${block}.downsamplers.0`, rest === 'op' ? 'conv' : rest.replace(/^op\./, 'conv.'));
    if (sub === 0) return join(`down_blocks.${block}.resnets.${layer}`, mapResnetInner(rest, RESNET_LDM_TO_DIFFUSERS));
    return join(`down_blocks.${block}.attentions.${layer}`, rest);
  }
  m = /^middle_block\.(\d+)(?:\.(.*))?$/.exec(path);
  if (m) {
    const sub = Number(m[1]);
    const rest = m[2] ?? '';
    if (sub === 1) return join('mid_block.attentions.0', rest);
    return join(`mid_block.resnets.${sub === 0 ? 0 : 1}`, mapResnetInner(rest, RESNET_LDM_TO_DIFFUSERS));
  }
  m = /^output_blocks\.(\d+)\.(\d+)(?:\.(.*))?$/.exec(path);
  if (m) {
    const n = Number(m[1]);
    const sub = Number(m[2]);
    const rest = m[3] ?? '';
    const block = Math.floor(n / 3);
    const layer = n % 3;
    if (sub === 0) return join(`up_blocks.${block}.resnets.${layer}`, mapResnetInner(rest, RESNET_LDM_TO_DIFFUSERS));
    if (sub === 2 || rest === 'conv' || rest.startsWith('conv.')) return join(`up_blocks.${block}.upsamplers.0`, rest);
    return join(`up_blocks.${block}.attentions.${layer}`, rest);
  }
  return path;
}

/**
 * diffusers UNet path → LDM/SGM UNet path (the inverse of ldmToDiffusersUnet for the given UNet: the up blocks that
 * hold attentions, from its family's spec, decide where the upsampler sits).
 */
export function diffusersToLdmUnet(path: string, upBlocksWithAttention: readonly number[]): string {
  for (const [from, to] of Object.entries(TOP_LEVEL_DIFFUSERS_TO_LDM)) {
    if (path === from || path.startsWith(`${from}.`)) return `${to}${path.slice(from.length)}`;
  }
  let m = /^down_blocks\.(\d+)\.(resnets|attentions|downsamplers)\.(\d+)(?:\.(.*))?$/.exec(path);
  if (m) {
    const block = Number(m[1]);
    const layer = Number(m[3]);
    const rest = m[4] ?? '';
    if (m[2] === 'downsamplers') return join(`input_blocks.${3 * block + 3}.0`, rest === 'conv' ? 'op' : rest.replace(/^conv\./, 'op.'));
    const n = 3 * block + layer + 1;
    if (m[2] === 'resnets') return join(`input_blocks.${n}.0`, mapResnetInner(rest, RESNET_DIFFUSERS_TO_LDM));
    return join(`input_blocks.${n}.1`, rest);
  }
  m = /^mid_block\.(resnets|attentions)\.(\d+)(?:\.(.*))?$/.exec(path);
  if (m) {
    const rest = m[3] ?? '';
    if (m[1] === 'attentions') return join('middle_block.1', rest);
    return join(`middle_block.${m[2] === '0' ? 0 : 2}`, mapResnetInner(rest, RESNET_DIFFUSERS_TO_LDM));
  }
  m = /^up_blocks\.(\d+)\.(resnets|attentions|upsamplers)\.(\d+)(?:\.(.*))?$/.exec(path);
  if (m) {
    const block = Number(m[1]);
    const layer = Number(m[3]);
    const rest = m[4] ?? '';
    if (m[2] === 'upsamplers') return join(`output_blocks.${3 * block + 2}.${upBlocksWithAttention.includes(block) ? 2 : 1}`, rest);
    const n = 3 * block + layer;
    if (m[2] === 'resnets') return join(`output_blocks.${n}.0`, mapResnetInner(rest, RESNET_DIFFUSERS_TO_LDM));
    return join(`output_blocks.${n}.1`, rest);
  }
  return path;
}
