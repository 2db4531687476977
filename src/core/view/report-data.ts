/**
 * What a standalone report of a merge (`ziplora report`, `ziplora merge --report`) carries: the merged
 * file's view with its sidecar report, and every merged layer's coefficients, read once from the sidecar.
 * The page that shows it is the editor's own (src/shared/html-report.ts builds it).
 */
import { withSafetensors } from '../safetensors/reader';
import { buildFileView, FileOverview } from './file-view';

export interface ReportData {
  readonly view: FileOverview;
  /** Per merged layer: [m_content, m_style] as little-endian float32 in base64 (a third of the JSON of the numbers). */
  readonly coefficients: Readonly<Record<string, readonly [string, string]>>;
}

export async function readReportData(sidecar: string): Promise<ReportData> {
  const view = await buildFileView(sidecar);
  const report = view.ziplora;
  if (!report) throw new Error(`${sidecar} is not a ZipLoRA sidecar`);
  const coefficients: Record<string, [string, string]> = {};
  await withSafetensors(report.sidecar, async (file) => {
    const base64 = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
    for (const layer of report.layers) {
      coefficients[layer.module] = [base64(await file.readF32(`${layer.module}.m_content`)), base64(await file.readF32(`${layer.module}.m_style`))];
    }
  });
  return { view, coefficients };
}
