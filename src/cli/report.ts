/** `ziplora report SIDECAR -o FILE.html`: a standalone HTML report of a merge, for sharing. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { writeTextAtomically } from '../core/atomic-write';
import { SafetensorsError } from '../core/safetensors/errors';
import { buildHtmlReport } from '../shared/html-report';
import { CLI_OPTIONS, UsageError } from './usage';

export async function writeReport(sidecar: string, output: string, overwrite: boolean): Promise<void> {
  if (!overwrite && existsSync(output)) throw new SafetensorsError(output, 'already exists', 'choose another path, or pass --force');
  await writeTextAtomically(output, await buildHtmlReport(sidecar));
}

export async function runReport(args: string[], out: (text: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CLI_OPTIONS.report });
  if (positionals.length !== 1) throw new UsageError(`report takes one SIDECAR (OUT.ziplora.safetensors) or merged LoRA (got ${positionals.length} files)`);
  if (!values.output) throw new UsageError('report needs an output path: -o REPORT.html');
  if (!/\.html?$/i.test(values.output)) throw new UsageError(`the report must end in .html (got "${values.output}")`);
  await writeReport(positionals[0], values.output, Boolean(values.force));
  out(`Report  ${values.output}`);
}
