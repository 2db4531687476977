/** `npm run bench`: every benchmark of the project, one after the other, with the machine stated. */
import { benchSafetensors } from './safetensors';
import { machine } from './support';

async function main(): Promise<void> {
  console.log(`# ziplora benchmarks — ${new Date().toISOString()}\nMachine: ${machine()}`);
  await benchSafetensors();
}

void main();
