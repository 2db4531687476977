/**
 * Which Wan release and which Wan 2.2 A14B expert a LoRA is for. The A14B experts (high-noise, low-noise) and
 * Wan 2.1 14B have the same modules and shapes, so only what trainers record tells them apart:
 * - musubi-tuner writes `ss_sd_model_name` = the base name of the DiT it trained on (hv_train_network.py), e.g.
 *   `wan2.2_t2v_high_noise_14B_fp16.safetensors`; its `modelspec.architecture` is `wan2.1/lora` for every Wan
 *   (sai_model_spec.py ARCH_WAN), so that says nothing of the release and is not read here;
 * - LoRAs for the two experts are published as pairs of files named `…high_noise…` / `…low_noise…` (also `HIGH` /
 *   `LOW` as a word), and with the release in the name (`wan2.2_…`, `Wan2_1…`).
 * Wan 2.2 TI2V-5B is told by its width alone: 3072 (24 heads × 128, Wan-Video/Wan2.2 wan/configs/wan_ti2v_5B.py).
 */
import { FamilyVariant, VariantFacts } from './types';

const RELEASE = /wan[ _.-]?2[._]?([12])(?![0-9])/i;
const EXPERT_WORDS: readonly [expert: string, pattern: RegExp][] = [
  ['high-noise', /high[ _-]?noise|(?:^|[^A-Za-z])(?:HIGH|High|high)(?:[^A-Za-z]|$)/],
  ['low-noise', /low[ _-]?noise|(?:^|[^A-Za-z])(?:LOW|Low|low)(?:[^A-Za-z]|$)/],
];

/** Widths of Wan transformers with an A14B twin: only these have experts. */
const EXPERT_WIDTH = 5120;
const TI2V_5B_WIDTH = 3072;

interface Reading {
  release?: string;
  expert?: string;
  evidence: string[];
}

/** What one string (a metadata value or the file name) says of the release and the expert. */
function readText(text: string, source: string, width: number | undefined, reading: Reading): void {
  const release = RELEASE.exec(text)?.[1];
  const expert = width === EXPERT_WIDTH ? EXPERT_WORDS.filter(([, pattern]) => pattern.test(text)).map(([name]) => name) : [];
  const said: string[] = [];
  if (release && !reading.release) {
    reading.release = `2.${release}`;
    said.push(`Wan 2.${release}`);
  }
  if (expert.length === 1 && !reading.expert) {
    reading.expert = expert[0];
    said.push(`the ${expert[0]} expert`);
  }
  if (said.length) reading.evidence.push(`${source} "${text}" names ${said.join(' and ')}`);
}

export function wanVariant({ metadata, fileName, hidden }: VariantFacts, label: string): FamilyVariant | undefined {
  const reading: Reading = { evidence: [] };
  if (hidden === TI2V_5B_WIDTH) {
    reading.release = '2.2';
    reading.evidence.push(`width ${TI2V_5B_WIDTH} is Wan 2.2 TI2V-5B's`);
  }
  const model = metadata.ss_sd_model_name;
  if (model) readText(model, 'metadata ss_sd_model_name (the DiT musubi-tuner trained on)', hidden, reading);
  if (fileName) readText(fileName.replace(/\.safetensors$/i, ''), 'file name', hidden, reading);
  // Only Wan 2.2 A14B has experts.
  if (reading.expert && reading.release === '2.1') delete reading.expert;
  if (reading.expert) reading.release ??= '2.2';
  if (!reading.release) return undefined;
  const released = label.replace(/^Wan 2\.1 \/ 2\.2/, `Wan ${reading.release}`);
  const { release, expert, evidence } = reading;
  return { release, ...(expert ? { expert } : {}), label: expert ? `${released}, ${expert} expert` : released, evidence };
}
