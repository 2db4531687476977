/**
 * Language models (PEFT LoRAs without a pipeline component): recognised by their layer layout, named after the
 * base model an adapter config beside the file gives. Not a diffusion family: kohya naming does not cover them.
 */
import { mostCommon } from './evidence';
import { FamilySpec } from './types';

const LAYOUTS: ReadonlyArray<[pattern: RegExp, family: string, names: string]> = [
  [/^roberta\.encoder\.layer\./, 'RoBERTa encoder', 'roberta.encoder.layer.N'],
  [/^bert\.encoder\.layer\./, 'BERT encoder', 'bert.encoder.layer.N'],
  [/^(model\.)?layers\.\d+\.self_attn\./, 'LLaMA-style decoder', 'model.layers.N.self_attn'],
  [/^model\.decoder\.layers\./, 'OPT-style decoder', 'model.decoder.layers.N'],
  [/^transformer\.h\.\d+\./, 'GPT-2-style decoder', 'transformer.h.N'],
  [/^gpt_neox\.layers\./, 'GPT-NeoX decoder', 'gpt_neox.layers.N'],
  [/^(encoder|decoder)\.block\.\d+\.layer\./, 'T5 encoder-decoder', 'encoder.block.N.layer'],
];

export const LLM: FamilySpec<'llm'> = {
  id: 'llm',
  label: 'LLM',
  recognisers: [
    {
      order: 800,
      reads: 'file',
      recognise: ({ bareModules, layers, configBaseModel }) => {
        if (!bareModules.length) return undefined;
        const layout = LAYOUTS.find(([pattern]) => bareModules.some((m) => pattern.test(m)));
        const width = mostCommon(layers.filter((l) => l.outFeatures === l.inFeatures).map((l) => l.inFeatures));
        const evidence = [...(layout ? [`module names like ${layout[2]}`] : []), ...(width ? [`hidden size ${width}`] : [])];
        if (!layout && !configBaseModel) return { label: 'unknown', evidence: [...evidence, 'no known module layout or metadata'], unknown: true };
        const parts = [layout?.[1] ?? 'transformer'];
        if (configBaseModel) {
          evidence.push(`adapter config names "${configBaseModel}"`);
          parts.push(`(${configBaseModel.split('/').pop()})`);
        }
        return { label: `LLM: ${parts.join(' ')}`, evidence };
      },
    },
  ],
  compoundIdentifiers: ['o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};
