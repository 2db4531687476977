/**
 * `npm run bench [-- safetensors|compare|merge ... [--options]]`: the project's benchmarks, one after the other,
 * with the machine stated (all of them when none is named); options after the names go to `scale`. `lambda`
 * compares λ = auto with each λ of its path; the
 * λ sweep behind the default is separate: bench/lambda.ts.
 */
import { benchCertificate } from './certificate';
import { benchCompare } from './compare';
import { benchFlux } from './flux';
import { benchInspectStartup } from './inspect-startup';
import { benchLambdaAuto } from './lambda';
import { benchMemory } from './memory';
import { benchMerge, benchMergeWays } from './merge';
import { benchSafetensors } from './safetensors';
import { benchScale } from './scale';
import { benchSolvers } from './solvers';
import { machine } from './support';

/** Options after the benchmark names (`npm run bench -- scale --layers 10`), for the benchmarks that take them. */
let options: string[] = [];

const BENCHMARKS: Record<string, () => Promise<void>> = {
  safetensors: benchSafetensors,
  'inspect-startup': () => benchInspectStartup([]),
  compare: () => benchCompare(5),
  merge: () => benchMerge([]),
  'merge-n-way': () => benchMergeWays([]),
  solvers: () => benchSolvers([]),
  certificate: () => benchCertificate([]),
  scale: () => benchScale(options),
  flux: () => benchFlux([]),
  memory: () => benchMemory([]),
  lambda: () => benchLambdaAuto(),
};

async function main(argv: string[]): Promise<void> {
  const firstOption = argv.findIndex((a) => a.startsWith('--'));
  const names = firstOption < 0 ? argv : argv.slice(0, firstOption);
  options = firstOption < 0 ? [] : argv.slice(firstOption);
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}`);
  console.log(`# ziplora benchmarks — ${new Date().toISOString()}\nMachine: ${machine()}`);
  for (const name of names.length ? names : Object.keys(BENCHMARKS)) await BENCHMARKS[name]();
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
