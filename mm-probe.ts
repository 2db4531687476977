import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import path from 'node:path';
async function main() {
  const backend = process.argv[2] ?? 'wasm';
  if (backend === 'wasm') setWasmPaths(path.resolve('node_modules/@tensorflow/tfjs-backend-wasm/dist') + '/');
  await tf.setBackend(backend); await tf.ready();
  const bench = (name: string, flops: number, f: () => tf.Tensor) => {
    for (let i = 0; i < 2; i++) f().dataSync();
    const t0 = performance.now(); const n = 5;
    for (let i = 0; i < n; i++) { const r = f(); r.dataSync(); r.dispose(); }
    const ms = (performance.now() - t0) / n;
    console.log(backend, name, ms.toFixed(2), 'ms', (flops / ms / 1e6).toFixed(2), 'GFLOP/s');
  };
  const inn = 1280;
  const A = tf.randomNormal([64, inn]); const Ac = tf.randomNormal([32, inn]); const AcT = tf.randomNormal([inn, 32]); const Y = tf.randomNormal([64, 32]);
  bench('2D A·Acᵀ (transposeB)', 2*64*32*inn, () => tf.matMul(A, Ac, false, true));
  bench('2D A·AcT (pre-transposed)', 2*64*32*inn, () => tf.matMul(A, AcT));
  bench('2D Y·Ac', 2*64*32*inn, () => tf.matMul(Y, Ac));
  // Wide: batch of 32 layers side by side sharing nothing—concatenate along N: [64, inn] x [inn, 32*32]
  const W = tf.randomNormal([inn, 1024]);
  bench('2D 64 x 1280 x 1024', 2*64*1024*inn, () => tf.matMul(A, W));
  const A2 = tf.randomNormal([2048, inn]);
  bench('2D 2048 x 1280 x 32', 2*2048*32*inn, () => tf.matMul(A2, AcT));
  const B3 = tf.randomNormal([32, 64, inn]); const C3 = tf.randomNormal([32, inn, 32]);
  bench('batched 32x 64x1280x32 (B not transposed)', 2*32*64*32*inn, () => tf.matMul(B3, C3));
}
main();
