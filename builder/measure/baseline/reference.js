// The machine's own speed, for `python -m builder bench` (served at /baseline/reference.html):
// two convolutions on tf.js wasm, one thread (as each frame worker runs them), in GFLOP/s.
// Figures from different machines can only be compared through these. The .wasm files are
// the site's own (its manifest.json names them).

import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

// 64 x 64 x 64 -> 64, 3 x 3: the size of the generator's middle levels (0.3 GFLOP a run), whose
// data fits in the caches: it measures arithmetic. 256 x 256 x 16 -> 16: the generator's finest
// level (4 MB a tensor, 0.3 GFLOP), which streams through memory: two machines with the same
// arithmetic speed ran the model at 51 and 110 ms a frame, and this is the shape that tells them
// apart.
const SHAPES = { reference: [64, 64, 64, 64, 3], fine: [256, 256, 16, 16, 3] };
const SECONDS = 3;

function timeConvolution([H, W, CIN, COUT, K]) {
  const x = tf.randomNormal([1, H, W, CIN]);
  const filter = tf.randomNormal([K, K, CIN, COUT]);
  const once = () => tf.tidy(() => tf.conv2d(x, filter, 1, 'same')).dataSync();
  for (let i = 0; i < 5; i++) once();  // XNNPACK packs the filter on the first runs
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    once();
    runs++;
  }
  const ms = (performance.now() - start) / runs;
  tf.dispose([x, filter]);
  const flops = 2 * H * W * K * K * CIN * COUT;
  return { gflops: Math.round((flops / (ms / 1000) / 1e9) * 100) / 100, ms_per_conv: Math.round(ms * 100) / 100, runs,
    conv: `${H}x${W}x${CIN} -> ${COUT}, ${K}x${K}` };
}

async function main() {
  const manifest = await (await fetch('../manifest.json')).json();
  const wasm = Object.entries(manifest.assets).filter(([name]) => name.endsWith('.wasm'));
  setWasmPaths(Object.fromEntries(wasm.map(([name, path]) => [name, new URL(`../${path}`, location.href).href])));
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  const reference = timeConvolution(SHAPES.reference);
  window.reference = { ...reference, fine: timeConvolution(SHAPES.fine), backend: tf.getBackend() };
}

main().catch((error) => { window.reference = { error: String(error.message || error) }; });
