/**
 * What a standalone report of a merge (`ziplora report`, `ziplora merge --report`) carries: the merged
 * file's view with its sidecar report, and every merged layer's coefficients, read once from the sidecar.
 * The page that shows it is the editor's own (src/shared/html-report.ts builds it).
 */
import { withSafetensors } from '../safetensors/reader';
import { buildFileView, FileOverview } from './file-view';
import { coefficientTensors, readCoefficients } from './sidecar-report';

export interface ReportData {
  readonly view: FileOverview;
  /**
   * Per layer with coefficients: the inputs present (request indices) and m_i of each as little-endian float32
   * in base64 (a third of the JSON of the numbers).
   */
  readonly coefficients: Readonly<Record<string, { readonly inputs: readonly number[]; readonly m: readonly string[] }>>;
}

export async function readReportData(sidecar: string): Promise<ReportData> {
  const view = await buildFileView(sidecar);
  const report = view.ziplora;
  if (!report) throw new Error(`${sidecar} is not a ZipLoRA sidecar`);
  const coefficients: Record<string, { inputs: number[]; m: string[] }> = {};
  await withSafetensors(report.sidecar, async (file) => {
    const base64 = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
    for (const layer of report.layers) {
      // Layers merged directly or copied have no coefficients; the tab says so when one is opened.
      if (!coefficientTensors(file, layer.module).length) continue;
      const { inputs, m } = await readCoefficients(file, layer.module);
      coefficients[layer.module] = { inputs: [...inputs], m: m.map(base64) };
    }
  });
  return { view, coefficients };
}
