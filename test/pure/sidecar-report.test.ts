/**
 * A sidecar of either format read into the one N-way model the editor and the HTML report draw: format 2 as
 * written (N inputs, every pair, λ path and chosen λ), format 1 (two-way fields, m_content / m_style) mapped
 * to inputs 0 and 1, coefficients by input index, and bad sidecars refused with the JSON path of the problem.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { readLayerCoefficients, readZipLoraView } from '../../src/core/view/file-view';
import { readReportData } from '../../src/core/view/report-data';
import { tempDir } from '../support/build-safetensors';
import { buildSidecar, formatOneReport, THRESHOLD, writeFormat1Sidecar, writeFormat2Sidecar } from '../support/sidecar-builder';
import { writeSafetensors } from '../support/write-safetensors';

const MODULES = [
  { module: 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', columns: 40 },
  { module: 'unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k', columns: 24 },
  { module: 'text_encoder.text_model.encoder.layers.0.self_attn.q_proj', columns: 16 },
];

const dir = tempDir();
const sidecarPath = (name: string) => path.join(dir, `${name}.ziplora.safetensors`);

test('format 2, three inputs, λ auto: the report as written, each layer\'s path and chosen λ, coefficients by input', async () => {
  const built = buildSidecar({ inputs: ['subject.safetensors', 'style.safetensors', 'light.safetensors'], modules: MODULES, lambda: 'auto', weights: [1, 0.8, 0.5], inputsOf: (m) => (m.startsWith('text_encoder') ? [0] : [0, 1, 2]) });
  const file = sidecarPath('three');
  await writeFormat2Sidecar(file, built, 'three.safetensors');
  const view = await readZipLoraView(file);
  assert.equal(view.format, 2);
  assert.equal(view.mergedFile, path.join(dir, 'three.safetensors'));
  assert.deepEqual(view.inputs.map((i) => [i.file, i.weight]), [['subject.safetensors', 1], ['style.safetensors', 0.8], ['light.safetensors', 0.5]]);
  assert.deepEqual(view.layers, built.layers);
  assert.deepEqual(view.layers[0].pairs.map((p) => [p.a, p.b]), [[0, 1], [0, 2], [1, 2]]);
  assert.deepEqual(view.lambdaCurve, built.lambdaCurve);
  assert.ok(view.layers[0].lambdaCurve!.some((p) => p.lambda === view.layers[0].lambda), 'the chosen λ is on the layer\'s path');
  assert.equal(view.recipe.solver, 'newton');
  assert.equal(view.recipe.backend, 'wasm', 'the run\'s settings are shown with the recipe\'s');
  assert.equal(view.recipe.inputs, undefined, 'the inputs are listed on their own, not as a setting');
  assert.equal(view.shares, undefined);

  const { inputs, m } = await readLayerCoefficients(file, MODULES[0].module);
  assert.deepEqual(inputs, [0, 1, 2]);
  assert.deepEqual(m.map((v) => v.length), [40, 40, 40]);
  built.coefficients.get(MODULES[0].module)!.forEach((values, i) => assert.deepEqual(m[i], Array.from(values)));
  await assert.rejects(readLayerCoefficients(file, MODULES[2].module), /has no coefficients for layer "text_encoder\.text_model\.encoder\.layers\.0\.self_attn\.q_proj"/);

  const data = await readReportData(file);
  assert.deepEqual(Object.keys(data.coefficients).sort(), [MODULES[0].module, MODULES[1].module].sort(), 'the copied layer has no coefficients');
  const decoded = new Float32Array(Uint8Array.from(Buffer.from(data.coefficients[MODULES[1].module].m[2], 'base64')).buffer);
  assert.deepEqual(decoded, built.coefficients.get(MODULES[1].module)![2]);
});

test('format 1 (two-way) opens as inputs 0 = content and 1 = style', async () => {
  const built = buildSidecar({ inputs: ['subject.safetensors', 'style.safetensors'], modules: MODULES });
  const file = sidecarPath('old');
  await writeFormat1Sidecar(file, built);
  const view = await readZipLoraView(file);
  const old = formatOneReport(built);
  assert.equal(view.format, 1);
  assert.deepEqual(view.inputs.map((i) => i.file), ['subject.safetensors', 'style.safetensors']);
  assert.equal(view.recipe.lambda, 0.03);
  for (const [i, layer] of view.layers.entries()) {
    const o = old[i];
    assert.equal(layer.module, o.module);
    assert.equal(layer.method, 'zip');
    assert.deepEqual(layer.inputs, [0, 1]);
    assert.deepEqual(layer.weights, [1, 1]);
    assert.deepEqual(layer.errors, [o.contentError, o.styleError]);
    assert.deepEqual(layer.directErrors, [o.directContentError, o.directStyleError]);
    assert.deepEqual(layer.sparsity, [o.sparsityContent, o.sparsityStyle]);
    assert.deepEqual(layer.pairs, [{ a: 0, b: 1, meanAbsCosine: o.meanAbsCosine, overlapBefore: o.overlapBefore, overlapAfter: o.overlapAfter }]);
    assert.equal(layer.lambda, 0.03, 'format 1 had one λ for the merge');
    assert.equal(layer.lambdaCurve, undefined);
    assert.deepEqual(view.shares![layer.module], { zipped: o.zipped, bothOn: o.bothOn, bothOff: o.bothOff });
  }
  const [c, s] = built.coefficients.get(MODULES[1].module)!;
  assert.deepEqual(await readLayerCoefficients(file, MODULES[1].module), { inputs: [0, 1], m: [Array.from(c), Array.from(s)] });
  const sparse = Array.from(c).filter((v) => v < THRESHOLD).length / c.length;
  assert.equal(view.layers[1].sparsity[0], sparse, 'the builder\'s sparsity is its coefficients\'');
  const data = await readReportData(file);
  assert.deepEqual(data.coefficients[MODULES[0].module].inputs, [0, 1]);
});

test('bad sidecars are refused naming the file and the JSON path', async () => {
  const built = buildSidecar({ inputs: ['a.safetensors', 'b.safetensors', 'c.safetensors'], modules: MODULES });
  const write = async (name: string, metadata: Record<string, string>) => {
    const file = sidecarPath(name);
    await writeSafetensors(file, [], metadata);
    return file;
  };
  const good = { ziplora_format: '2', ziplora_inputs: JSON.stringify(built.inputs), ziplora_report: JSON.stringify(built.layers) };
  const shortErrors = built.layers.map((l, i) => (i === 1 ? { ...l, errors: l.errors.slice(0, 2) } : l));
  await assert.rejects(readZipLoraView(await write('short', { ...good, ziplora_report: JSON.stringify(shortErrors) })), /short\.ziplora\.safetensors: ziplora_report\[1\]\.errors has 2 values, expected 3/);
  const outside = built.layers.map((l, i) => (i === 0 ? { ...l, inputs: [0, 5, 1] } : l));
  await assert.rejects(readZipLoraView(await write('outside', { ...good, ziplora_report: JSON.stringify(outside) })), /ziplora_report\[0\]\.inputs names an input outside 0…2/);
  const badPair = built.layers.map((l, i) => (i === 2 ? { ...l, pairs: [{ ...l.pairs[0], overlapAfter: 'high' }] } : l));
  await assert.rejects(readZipLoraView(await write('pair', { ...good, ziplora_report: JSON.stringify(badPair) })), /ziplora_report\[2\]\.pairs\[0\]\.overlapAfter is not a number \("high"\)/);
  await assert.rejects(readZipLoraView(await write('future', { ...good, ziplora_format: '3' })), /future\.ziplora\.safetensors: is a ZipLoRA sidecar of format 3, which this version cannot read — update the ZipLoRA extension/);
  await assert.rejects(readZipLoraView(await write('none', { ziplora_format: '2', ziplora_inputs: good.ziplora_inputs })), /has no ziplora_report in its metadata/);
  await assert.rejects(readZipLoraView(await write('json', { ...good, ziplora_inputs: '[{' })), /ziplora_inputs in its metadata is not valid JSON/);
  const oldLayer = { ...formatOneReport(buildSidecar({ inputs: ['a', 'b'], modules: MODULES }))[0], sparsityStyle: undefined };
  await assert.rejects(readZipLoraView(await write('old-bad', { ziplora_report: JSON.stringify([oldLayer]) })), /ziplora_report\[0\]\.sparsityStyle is not a number/);
});
